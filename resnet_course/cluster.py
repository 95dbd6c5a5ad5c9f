"""A cluster on this machine: start one worker process per ``TF_CONFIG``, wait for them, stop them.

Lesson 05 runs ``scripts/train_multi_worker.py`` on 2 workers with
``launch_workers``: each worker is a process of its own with its own
``TF_CONFIG``, talking to the others over 127.0.0.1, as machines of a cluster
would over the network. The launcher never leaves a process behind: it kills
what it started (by process id) when the time is up, when a worker cannot be
started, or when the caller is interrupted, and says which worker did what.

``tf_config`` is the reference for lesson 05's graded exercise (the lesson
passes the learner's own); it is not exported by ``resnet_utils``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_course.constants import REPO_DIR

LOCAL_HOSTS = ("127.0.0.1", "localhost")

# The training script every worker runs (lesson 05): kept in the repository, ready to copy to a cluster.
TRAIN_SCRIPT = REPO_DIR / "scripts" / "train_multi_worker.py"


class LaunchError(RuntimeError):
    """The workers could not be started, did not finish in time, or one of them failed.

    ``pids`` lists the processes the launch had started: all of them have ended when it is raised.
    """

    def __init__(self, message: str, pids: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.pids = list(pids)


@dataclass(frozen=True)
class WorkerRun:
    """What one worker process did: its index, process id, exit code (negative: killed by that signal) and log."""

    index: int
    pid: int
    returncode: int
    log: str


def tf_config(workers: Sequence[str], index: int) -> dict[str, Any]:
    """The ``TF_CONFIG`` of worker ``index`` in a cluster of ``workers`` (``"host:port"`` each).

    ``{"cluster": {"worker": [...]}, "task": {"type": "worker", "index": index}}``:
    every worker gets the same cluster and its own task.
    """
    return {"cluster": {"worker": list(workers)}, "task": {"type": "worker", "index": index}}


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports on 127.0.0.1 that are free now (the system picks them)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a TCP port of this machine cannot be bound now (another process holds it).

    A port that only lingers after a finished worker (TIME_WAIT) counts as free
    outside Windows, as it is for the gRPC server of the next worker, which binds
    with SO_REUSEADDR.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        if os.name != "nt":  # on Windows SO_REUSEADDR would let two sockets share a port
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def _check_configs(configs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The cluster's addresses, after checking that the configs describe one cluster whose local ports are free."""
    if not configs:
        raise LaunchError("launch_workers: no TF_CONFIG given: pass one per worker")
    cluster = configs[0].get("cluster", {}).get("worker")
    if not isinstance(cluster, list) or not cluster:
        raise LaunchError(f"launch_workers: TF_CONFIG 0 has no list of workers under 'cluster': found {configs[0]}")
    for i, config in enumerate(configs):
        if config.get("cluster", {}).get("worker") != cluster:
            raise LaunchError(f"launch_workers: TF_CONFIG {i} lists other workers than TF_CONFIG 0: {config}")
        if config.get("task") != {"type": "worker", "index": i}:
            raise LaunchError(
                f"launch_workers: TF_CONFIG {i} must have task {{'type': 'worker', 'index': {i}}}, "
                f"found {config.get('task')}"
            )
    for i, address in enumerate(cluster):
        host, _, port = str(address).rpartition(":")
        if host in LOCAL_HOSTS and port.isdigit() and port_in_use(int(port)):
            raise LaunchError(
                f"launch_workers: port {port} of worker {i} ({address}) is in use by another process; "
                "choose free ones with free_ports()"
            )
    return cluster


def _tail(path: Path, lines: int = 8) -> str:
    text = path.read_text(errors="replace").rstrip().splitlines() if path.exists() else []
    return "\n".join("    " + line for line in text[-lines:]) or "    (empty)"


def _stop(processes: Mapping[int, subprocess.Popen[bytes]]) -> list[str]:
    """Kill every process still running, wait for each; what was killed, as 'worker i (pid p)'."""
    killed = []
    for i, process in processes.items():
        if process.poll() is None:
            process.kill()
            killed.append(f"worker {i} (pid {process.pid})")
        process.wait()
    return killed


def launch_workers(
    command: Sequence[str],
    configs: Sequence[Mapping[str, Any]],
    log_dir: str | os.PathLike[str],
    timeout: float,
    worker_args: Mapping[int, Sequence[str]] | None = None,
    env: Mapping[str, str] | None = None,
    only: Sequence[int] | None = None,
    grace: float = 120.0,
    check: bool = True,
) -> list[WorkerRun]:
    """Run ``command`` once per ``TF_CONFIG`` in ``configs``, as the cluster's workers on this machine.

    Worker ``i`` runs ``command + worker_args[i]`` with ``TF_CONFIG`` set to
    ``configs[i]`` (as JSON) and ``env`` added to this process's environment,
    its output going to ``log_dir/worker-<i>.log``.
    ``only`` starts some of the workers (the others never start: the lesson's
    failure case). When a worker fails, the others get ``grace`` seconds to
    notice and exit on their own, then are killed. The default is generous:
    a worker learns of a dead peer from TensorFlow's coordination service once
    the peer's heartbeats have been missing for the service's time-out (with the
    service on, ``collective_all_reduce_strategy.py`` turns its own periodic
    health check off), and later on a busy machine.

    Raises:
        LaunchError: a local port of the cluster is taken; a worker cannot be
            started; ``timeout`` seconds pass before every worker has exited
            (all are killed); or, with ``check``, a worker exits with an error.
            The message names the worker, its process id and its log's last lines.
    """
    cluster = _check_configs(configs)
    logs = Path(log_dir)
    logs.mkdir(parents=True, exist_ok=True)
    started: dict[int, subprocess.Popen[bytes]] = {}
    first_failure, failed_at = None, 0.0  # the first worker seen failing, and when
    try:
        for i in range(len(cluster)) if only is None else only:
            variables = {**os.environ, **(env or {}), "TF_CONFIG": json.dumps(configs[i])}
            with (logs / f"worker-{i}.log").open("wb") as log:
                try:
                    started[i] = subprocess.Popen(
                        [*command, *(worker_args or {}).get(i, ())], env=variables, stdout=log, stderr=subprocess.STDOUT
                    )
                except OSError as err:
                    killed = _stop(started)
                    raise LaunchError(
                        f"worker {i} could not be started ({err}); stopped {', '.join(killed) or 'no other worker'}",
                        [p.pid for p in started.values()],
                    ) from err
        deadline = time.monotonic() + timeout
        while any(p.poll() is None for p in started.values()):
            now = time.monotonic()
            if first_failure is None:
                first_failure, failed_at = next((i for i, p in started.items() if p.poll()), None), now
            if now > deadline or (first_failure is not None and now > failed_at + grace):
                break
            time.sleep(0.1)
        waiting = [i for i, p in started.items() if p.poll() is None]
        killed = _stop(started)
        if waiting and first_failure is None:
            first = waiting[0]
            missing = sorted(set(range(len(cluster))) - set(started))
            why = f" (worker {', '.join(map(str, missing))} never started)" if missing else ""
            raise LaunchError(
                f"timed out after {timeout:.0f} s: {', '.join(f'worker {i}' for i in waiting)} still running{why}; "
                f"killed {', '.join(killed)}. The last lines of worker {first}'s log "
                f"({logs / f'worker-{first}.log'}):\n{_tail(logs / f'worker-{first}.log')}",
                [p.pid for p in started.values()],
            )
    finally:
        _stop(started)
    runs = [
        WorkerRun(i, p.pid, p.returncode, (logs / f"worker-{i}.log").read_text(errors="replace"))
        for i, p in started.items()
    ]
    bad = sorted((run for run in runs if run.returncode), key=lambda run: run.index != first_failure)
    if check and bad:
        run = bad[0]  # the worker that failed first, not one killed after it
        raise LaunchError(
            f"worker {run.index} (pid {run.pid}) exited with code {run.returncode}; the last lines of its log "
            f"({logs / f'worker-{run.index}.log'}):\n{_tail(logs / f'worker-{run.index}.log')}",
            [run.pid for run in runs],
        )
    return runs
