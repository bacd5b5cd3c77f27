"""Signals, in real subprocesses: Ctrl-C saves a checkpoint and exits cleanly; ``kill -9`` in the
middle of a checkpoint write leaves the previous checkpoint loadable."""
import os
import signal
import subprocess
import sys
import time

import pytest

from transformer.checkpoint import load_checkpoint
from transformer.cli import main

pytestmark = pytest.mark.slow


def start(tmp_path, corpus, *flags, steps=100000):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "transformer", "pretrain", "--corpus",
                             str(corpus), "--steps", str(steps), "--run", "run", "--runs-dir",
                             str(tmp_path), "--no-progress", "--no-plots", "--threads", "1",
                             "--sample-tokens", "2", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(condition, process, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"gave up waiting; stderr: {process.communicate()[1][-2000:]}")
        time.sleep(0.001)


def test_ctrl_c_saves_a_checkpoint_and_exits(tmp_path, corpus, tiny_model, capsys):
    process = start(tmp_path, corpus, *tiny_model, "--batch-size", "2", steps=300)
    metrics = tmp_path / "run" / "metrics.jsonl"
    wait_for(lambda: metrics.exists() and metrics.read_text().count('"loss"') >= 3, process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted at step" in err and "--resume" in err
    step = int(err.split("interrupted at step ")[1].split(":")[0])
    assert step >= 3
    assert load_checkpoint(tmp_path / "run" / "checkpoint.npz")["step"] == step
    # the command it prints continues the run to its end
    assert main(["pretrain", "--run", "run", "--runs-dir", str(tmp_path), "--resume",
                 "--no-progress"]) == 0
    assert f"resumed {tmp_path / 'run' / 'checkpoint.npz'} at step {step}" in \
        capsys.readouterr().out
    assert load_checkpoint(tmp_path / "run" / "checkpoint.npz")["step"] == 300


def test_kill_9_during_a_checkpoint_write(tmp_path, corpus):
    # a wide model on tiny batches: writing its checkpoint (weights + Adam moments, ~20 MB)
    # takes longer than a step, so the process is caught while writing
    process = start(tmp_path, corpus, "--n-layer", "2", "--n-embd", "256", "--block-size", "8",
                    "--batch-size", "1", "--checkpoint-every", "1")
    folder = tmp_path / "run"
    wait_for(lambda: (folder / "checkpoint.npz").exists(), process)

    def writing():
        return any(name.endswith(".tmp") for name in os.listdir(folder))

    wait_for(writing, process)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert any(name.endswith(".tmp") for name in os.listdir(folder))    # a write was cut short
    state = load_checkpoint(folder / "checkpoint.npz", kind="gpt")
    assert state["step"] >= 1
