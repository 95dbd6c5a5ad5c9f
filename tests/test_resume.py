"""Training with keras.callbacks.BackupAndRestore, as notebook 03 does, survives
a killed process: the rerun resumes at the interrupted epoch with the weights
and optimizer state of the last completed one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SCRIPT = """
import os, sys
sys.path.insert(0, {repo!r})
from resnet_utils import cifar_net, generate_signs, preprocess, train_dataset
from resnet_course.blocks import basic_block
import keras

x, y = generate_signs(8, seed=3)
keras.utils.set_random_seed(0)
model = cifar_net(8, basic_block, "residual", input_shape=(64, 64, 3))
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")


class Report(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        print("epoch", epoch, "iterations", int(self.model.optimizer.iterations), flush=True)

    def on_train_batch_end(self, batch, logs=None):
        if os.environ.get("KILL_AT") == f"{{self.params['steps']}}:{{batch}}:{{int(self.model.optimizer.iterations)}}":
            os._exit(3)  # the process dies mid-epoch, like a closed laptop or a killed kernel


backup = keras.callbacks.BackupAndRestore({backup!r})
model.fit(train_dataset(preprocess(x), y, batch_size=16), epochs=4, callbacks=[backup, Report()], verbose=0)
print("done", "iterations", int(model.optimizer.iterations), flush=True)
"""


def run(script: Path, kill_at: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if kill_at:
        env["KILL_AT"] = kill_at
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)


def test_killed_training_resumes_from_its_backup(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(repo=str(REPO), backup=str(backup)))
    # 48 images, batch 16: 3 steps per epoch. Die after the 2nd step of epoch 2 (iteration 8).
    first = run(script, kill_at="3:1:8")
    assert first.returncode == 3, first.stderr[-2000:]
    assert "epoch 2 iterations 6" in first.stdout and "done" not in first.stdout
    assert backup.exists(), "no backup was written before the kill"

    second = run(script, kill_at=None)
    assert second.returncode == 0, second.stderr[-2000:]
    lines = second.stdout.splitlines()
    # Resumed at the interrupted epoch with the optimizer state after 2 full epochs, not from scratch.
    assert lines[0] == "epoch 2 iterations 6", second.stdout
    assert "epoch 0 iterations 0" not in second.stdout
    assert lines[-1] == "done iterations 12"
    assert not backup.exists(), "BackupAndRestore should delete its backup after a finished run"
