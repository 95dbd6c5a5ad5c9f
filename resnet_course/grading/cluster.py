"""The check of lesson 05's ``tf_config(workers, index)``: the ``TF_CONFIG`` of one worker of a cluster.

It calls the learner's function for a cluster of three machines (each index)
and a cluster of one, and compares the result, after a JSON round trip (what
the worker process reads), with the reference ``resnet_course.cluster.tf_config``.
Lesson: 05.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from resnet_course.cluster import tf_config
from resnet_course.grading.compare import COMMON_HINTS, Verdict, build_error, say

# The hint printed for each mistake ``check_tf_config`` can name.
TF_CONFIG_HINTS: dict[str, str] = COMMON_HINTS | {
    "ok": "All checks passed: every worker gets the same cluster and its own task.",
    "not_dict": "tf_config returned {detail}: return a dict, which the launcher turns into JSON.",
    "not_json": "The result cannot be written as JSON ({detail}): use only dicts, lists, strings and integers.",
    "keys": "The top-level keys are {detail}: TF_CONFIG has exactly two, 'cluster' and 'task'.",
    "cluster": "'cluster' is {detail}: it maps the job name 'worker' to the list of all addresses, "
    "in order, the same list for every worker.",
    "task_type": "The task is {detail}: every process here is a worker, so the task's 'type' is 'worker'.",
    "task_index": "The task's index is {detail}: it is this worker's position in the cluster's list "
    "(an int, counted from 0), so that each worker knows which address is its own.",
    "task": "The task is {detail}: it is {{'type': 'worker', 'index': index}}.",
}

# The addresses of the first cluster are not in sorted order, so that sorting them is a caught mistake.
CLUSTERS: tuple[tuple[str, ...], ...] = (("10.0.0.2:2222", "10.0.0.1:2222", "10.0.0.3:2222"), ("localhost:12345",))


def _case(fn: Callable[..., Any], workers: tuple[str, ...], index: int) -> Verdict:
    try:
        found = fn(list(workers), index)
    except Exception as err:  # the learner's code may raise anything
        return build_error(err)
    if not isinstance(found, dict):
        return "not_dict", f"a {type(found).__name__}"
    try:
        found = json.loads(json.dumps(found))
    except (TypeError, ValueError) as err:
        return "not_json", str(err)
    expected = tf_config(workers, index)
    if set(found) != set(expected):
        return "keys", str(sorted(found))
    if found["cluster"] != expected["cluster"]:
        return "cluster", repr(found["cluster"])
    task = found["task"]
    if task == expected["task"]:
        return "ok", ""
    if isinstance(task, dict) and set(task) == {"type", "index"}:
        if task["type"] != "worker":
            return "task_type", repr(task["type"])
        return "task_index", f"{task['index']!r} for the worker at position {index}"
    return "task", repr(task)


def check_tf_config(fn: Callable[..., Any]) -> str:
    """Check a learner's ``tf_config(workers, index)`` on a 3-worker cluster (indices 0-2) and a 1-worker one.

    Returns:
        the key of the printed verdict in ``TF_CONFIG_HINTS``.
    """
    for workers in CLUSTERS:
        for index in range(len(workers)):
            key, detail = _case(fn, workers, index)
            if key != "ok":
                return say(key, detail, TF_CONFIG_HINTS, f"the check called tf_config({list(workers)}, {index})")
    return say("ok", "", TF_CONFIG_HINTS)
