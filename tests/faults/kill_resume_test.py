"""kill -9 at random moments, then the same command again: the run resumes from its last
checkpoint (weights, optimizer, step and input position) and ends exactly where an
uninterrupted run ends."""
import glob
import json
import re
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from tests.faults.conftest import tally
from tests.garden.train_test import run_cli

# Deterministic ops, a seeded input stream, no dropout: an uninterrupted run is reproducible
# to the bit, so the resumed run must match it to float32 round-off (1e-6) at most.
ARGS = ["--model=deepfm", "--batch_size=64", "--epochs=3",
        "--params_override=model.hidden_units=[16],train.deterministic=true,"
        "train.checkpoint_every_steps=5,train.steps_per_execution=5,train.log_every_steps=5"]
TOLERANCE = 1e-6


def train_cmd(data_dir, model_dir):
    return [sys.executable, "-m", "garden.train", f"--data_dir={data_dir}",
            f"--model_dir={model_dir}", *ARGS]


def kill_during_training(cmd, at_step, delay):
    """Starts the run and SIGKILLs it `delay` seconds after it reports step `at_step` or a
    later one; returns True if it was killed (False: it finished first)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    lines = []
    for line in proc.stdout:
        lines.append(line)
        match = re.search(r" step (\d+) ", line)
        if match and int(match.group(1)) >= at_step:
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=600)
    proc.stdout.close()
    assert proc.returncode in (0, -signal.SIGKILL), "".join(lines[-30:])
    return proc.returncode == -signal.SIGKILL


def eval_metrics(model_dir):
    with open(os.path.join(model_dir, "metrics.json")) as f:
        return json.load(f)["eval"]


@pytest.fixture(scope="module")
def reference(tiny_world, tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("reference") / "run")
    run_cli("garden.train", *train_cmd(tiny_world, model_dir)[3:])
    with open(os.path.join(model_dir, "metrics.json")) as f:
        result = json.load(f)
    return dict(result["eval"], steps=result["train"]["steps"])


def test_three_kills_then_resume_matches_an_uninterrupted_run(reference, tiny_world, tmp_path):
    rng = np.random.default_rng(7)
    model_dir = str(tmp_path / "killed")
    cmd = train_cmd(tiny_world, model_dir)
    total = reference["steps"]
    steps = sorted(rng.choice(np.arange(5, total - 10), size=3, replace=False))
    kills = sum(kill_during_training(cmd, int(step), float(rng.uniform(0, 0.1)))
                for step in steps)
    assert kills == 3, "the run finished before it could be killed three times"
    tally("kills survived", kills)
    out = run_cli("garden.train", *cmd[3:])
    assert "Resumed from" in out.stdout
    resumed = eval_metrics(model_dir)
    for key in ("auc", "logloss", "gauc"):
        assert resumed[key] == pytest.approx(reference[key], abs=TOLERANCE), (key, resumed,
                                                                              reference)


def test_kill_after_training_finishes_the_evaluation_and_export(tiny_world, tmp_path):
    # Killed at a random moment of evaluation or export: the rerun trains no further step,
    # and leaves one complete export (a half-written one is a hidden temporary folder).
    model_dir = str(tmp_path / "late")
    cmd = train_cmd(tiny_world, model_dir)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    for line in proc.stdout:
        if line.startswith("Evaluation on"):  # printed just before the export starts
            try:
                proc.wait(timeout=float(np.random.default_rng(3).uniform(0, 0.5)))
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=600)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    tally("kills survived")
    out = run_cli("garden.train", *cmd[3:])
    assert "(3 epoch(s) and 0 step(s) done)" in out.stdout and " step " not in out.stdout
    exports = glob.glob(os.path.join(model_dir, "export", "**", "saved_model.pb"),
                        recursive=True)
    assert len(exports) == 1, exports  # the killed export left no version behind
