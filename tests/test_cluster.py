"""Tests for resnet_course.cluster (lesson 05's launcher) and lesson 05's graded check, with fake workers.

The fake worker is a few lines of Python (no TensorFlow, so each test takes
a second): it prints its pid and TF_CONFIG index, then exits with the code it
is given, or sleeps as a worker waiting for a peer that never comes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import resnet_course.cluster as cluster
from resnet_course.cluster import LaunchError, free_ports, launch_workers, port_in_use, tf_config
from resnet_course.grading import TF_CONFIG_HINTS, check_tf_config

FAKE_WORKER = """\
import json, os, sys, time
index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
print("pid", os.getpid(), "index", index, os.environ.get("COURSE_TEST_VARIABLE"), flush=True)
action = sys.argv[1]
if action == "sleep":
    time.sleep(600)
sys.exit(int(action))
"""


def alive(pid: int) -> bool:
    """Whether a process with this id exists (the launcher's workers must all be gone)."""
    if os.name == "nt":
        found = subprocess.run(["tasklist", "/FI", f"PID eq {pid}"], capture_output=True, text=True).stdout
        return str(pid) in found
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def record_processes(monkeypatch: pytest.MonkeyPatch, fail_after: int | None = None) -> list[subprocess.Popen[bytes]]:
    """The processes the launcher starts, recorded; with ``fail_after``, starting one more raises."""
    real_popen = subprocess.Popen
    started: list[subprocess.Popen[bytes]] = []

    def popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        if fail_after is not None and len(started) >= fail_after:
            raise FileNotFoundError("no such program")
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(cluster.subprocess, "Popen", popen)
    return started


@pytest.fixture
def fake(tmp_path: Path) -> Callable[..., list[Any]]:
    """Launch fake workers: fake({0: "0", 1: "sleep"}, **kwargs) runs worker i with that action."""
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER)

    def launch(actions: dict[int, str], **kwargs: Any) -> list[Any]:
        hosts = [f"127.0.0.1:{port}" for port in free_ports(len(actions))]
        configs = [tf_config(hosts, i) for i in range(len(actions))]
        worker_args = {i: [action] for i, action in actions.items()}
        kwargs.setdefault("timeout", 30)
        return launch_workers(
            [sys.executable, str(script)], configs, tmp_path / "logs", worker_args=worker_args, **kwargs
        )

    return launch


def test_tf_config_is_the_cluster_and_this_workers_task() -> None:
    config = tf_config(["a:1", "b:2"], 1)
    assert json.loads(json.dumps(config)) == {
        "cluster": {"worker": ["a:1", "b:2"]},
        "task": {"type": "worker", "index": 1},
    }


def test_free_ports_are_distinct_and_free_and_a_listening_port_is_in_use() -> None:
    ports = free_ports(3)
    assert len(set(ports)) == 3 and not any(port_in_use(p) for p in ports)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert port_in_use(s.getsockname()[1])


def test_workers_run_with_their_own_tf_config_and_environment(fake: Callable[..., list[Any]]) -> None:
    runs = fake({0: "0", 1: "0"}, env={"COURSE_TEST_VARIABLE": "seen"})
    assert [(run.index, run.returncode) for run in runs] == [(0, 0), (1, 0)]
    assert all(f"index {run.index} seen" in run.log for run in runs)
    assert all(not alive(run.pid) for run in runs)


def test_a_worker_that_never_starts_times_out_and_the_started_one_is_killed(fake: Callable[..., list[Any]]) -> None:
    with pytest.raises(
        LaunchError, match=r"timed out after 2 s: worker 0 still running \(worker 1 never started\)"
    ) as err:
        fake({0: "sleep", 1: "sleep"}, only=[0], timeout=2)
    assert "killed worker 0 (pid" in str(err.value) and "index 0" in str(err.value)  # with its log's last lines
    assert len(err.value.pids) == 1 and not alive(err.value.pids[0])


def test_a_worker_that_dies_is_named_and_the_others_are_killed_after_the_grace(fake: Callable[..., list[Any]]) -> None:
    with pytest.raises(LaunchError, match=r"worker 1 \(pid \d+\) exited with code 3") as err:
        fake({0: "sleep", 1: "3"}, grace=1)
    assert len(err.value.pids) == 2 and not any(alive(pid) for pid in err.value.pids)


def test_without_check_the_runs_come_back_with_their_exit_codes(fake: Callable[..., list[Any]]) -> None:
    runs = fake({0: "sleep", 1: "3"}, grace=1, check=False)
    assert runs[1].returncode == 3 and runs[0].returncode != 0  # killed (a signal: negative on POSIX)
    assert not any(alive(run.pid) for run in runs)


def test_a_taken_port_is_refused_before_any_worker_starts(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        hosts = [f"127.0.0.1:{free_ports(1)[0]}", f"127.0.0.1:{taken}"]
        with pytest.raises(LaunchError, match=f"port {taken} of worker 1 .* is in use") as err:
            launch_workers([sys.executable, "-c", "pass"], [tf_config(hosts, i) for i in range(2)], tmp_path, 10)
    assert err.value.pids == [] and not (tmp_path / "worker-0.log").exists()


def test_a_worker_that_cannot_be_started_stops_the_ones_before_it(
    fake: Callable[..., list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    started = record_processes(monkeypatch, fail_after=1)
    with pytest.raises(
        LaunchError, match=r"worker 1 could not be started \(no such program\); stopped worker 0"
    ) as err:
        fake({0: "sleep", 1: "sleep"})
    assert err.value.pids == [started[0].pid] and not alive(started[0].pid)


@pytest.mark.parametrize(
    ("configs", "message"),
    [
        ([], "no TF_CONFIG given"),
        ([{"task": {"type": "worker", "index": 0}}], "has no list of workers"),
        ([tf_config(["a:1", "b:2"], 0), tf_config(["a:1", "c:3"], 1)], "TF_CONFIG 1 lists other workers"),
        ([tf_config(["a:1", "b:2"], 0), tf_config(["a:1", "b:2"], 0)], r"TF_CONFIG 1 must have task"),
    ],
)
def test_configs_that_are_not_one_cluster_are_refused(configs: list[Any], message: str, tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match=message):
        launch_workers([sys.executable, "-c", "pass"], configs, tmp_path, 10)


def test_an_interrupted_launch_kills_its_workers(
    fake: Callable[..., list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt  # as when the learner stops the notebook's cell

    started = record_processes(monkeypatch)
    monkeypatch.setattr(cluster.time, "sleep", interrupt)
    with pytest.raises(KeyboardInterrupt):
        fake({0: "sleep", 1: "sleep"})
    assert len(started) == 2 and not any(alive(process.pid) for process in started)


def reference(workers: list[str], index: int) -> dict[str, Any]:
    return {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}


@pytest.mark.parametrize(
    ("learner", "key"),
    [
        (reference, "ok"),
        (lambda w, i: {"cluster": {"worker": tuple(w)}, "task": {"type": "worker", "index": i}}, "ok"),  # JSON: a list
        (lambda w, i: json.dumps(reference(w, i)), "not_dict"),
        (lambda w, i: {"cluster": {"worker": w}, "task": {"type": "worker", "index": i}, "extra": 1}, "keys"),
        (lambda w, i: {"cluster": {"workers": w}, "task": {"type": "worker", "index": i}}, "cluster"),
        (lambda w, i: {"cluster": {"worker": w[:i] + w[i + 1 :]}, "task": {"type": "worker", "index": i}}, "cluster"),
        (lambda w, i: {"cluster": {"worker": w}, "task": {"type": "chief", "index": i}}, "task_type"),
        (lambda w, i: {"cluster": {"worker": w}, "task": {"type": "worker", "index": i + 1}}, "task_index"),
        (lambda w, i: {"cluster": {"worker": w}, "task": {"type": "worker", "index": str(i)}}, "task_index"),
        (lambda w, i: {"cluster": {"worker": w}, "task": {"type": "worker"}}, "task"),
        (lambda w, i: {"cluster": {"worker": w}, "task": {"type": "worker", "index": {1, 2}}}, "not_json"),
        (lambda w, i: {"cluster": {"worker": sorted(w)}, "task": {"type": "worker", "index": i}}, "cluster"),
    ],
)
def test_check_tf_config_names_each_mistake(
    learner: Callable[..., Any], key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_tf_config(learner) == key
    assert TF_CONFIG_HINTS[key].split("{")[0][:30] in capsys.readouterr().out


def test_check_tf_config_reports_an_unwritten_exercise(capsys: pytest.CaptureFixture[str]) -> None:
    def not_written(workers: list[str], index: int) -> dict[str, Any]:
        raise NotImplementedError()

    assert check_tf_config(not_written) == "not_implemented"
    assert "(the check called tf_config(['10.0.0.2:2222'" in capsys.readouterr().out


FIT_UNDER_MWMS = """\
import resnet_utils  # noqa: F401  (quiets TensorFlow)
import keras
import numpy as np
import tensorflow as tf

strategy = tf.distribute.MultiWorkerMirroredStrategy()
with strategy.scope():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
data = tf.data.Dataset.from_tensor_slices((np.zeros((8, 4), "float32"), np.eye(2, dtype="float32")[[0, 1] * 4]))
model.fit(data.batch(4), epochs=1, verbose=0)
print("model.fit ran")
"""


def test_keras_fit_still_fails_under_multi_worker_mirrored_strategy(tmp_path: Path) -> None:
    """Lesson 05 writes its own training loop because of this (keras-team/keras#20585).

    When this test fails, model.fit works under the strategy with the pinned Keras: the lesson can use it.
    """
    script = tmp_path / "fit_under_mwms.py"
    script.write_text(FIT_UNDER_MWMS)
    hosts = [f"127.0.0.1:{port}" for port in free_ports(2)]
    runs = launch_workers(
        [sys.executable, str(script)],
        [tf_config(hosts, i) for i in range(2)],
        tmp_path,
        timeout=120,
        env={"CUDA_VISIBLE_DEVICES": "-1"},
        grace=10,
        check=False,
    )
    assert all(run.returncode != 0 and "model.fit ran" not in run.log for run in runs), [run.log for run in runs]
    assert "Attempt to convert a value (PerReplica" in runs[0].log, runs[0].log


def tf_config_for_three(workers: list[str], index: int) -> dict[str, Any]:
    """Right for the check's three-worker cluster, its addresses written in: wrong for any other cluster."""
    three = ["10.0.0.2:2222", "10.0.0.1:2222", "10.0.0.3:2222"]
    return {"cluster": {"worker": three}, "task": {"type": "worker", "index": index}}


# (check, a mutant right on the first configuration only, its hint, what the context says of the later call)
SECOND_CONFIGURATION: list[tuple[Callable[[Any], str], Any, str, str]] = [
    (check_tf_config, tf_config_for_three, "cluster", "['localhost:12345']"),
]


@pytest.mark.parametrize(("check", "mutant", "key", "later_call"), SECOND_CONFIGURATION)
def test_a_wrong_answer_right_on_the_first_configuration_is_caught_on_a_later_one(
    check: Callable[[Any], str], mutant: Any, key: str, later_call: str, caught_later: Callable[..., None]
) -> None:
    """A number written where an argument belongs, or a condition that holds by chance, passes the check's
    first configuration: a later one must name the mistake and say which call failed."""
    caught_later(check, mutant, key, later_call)
