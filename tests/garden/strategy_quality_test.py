"""The same command under every strategy reaches one device's quality (slow: full runs).

DeepFM's default experiment on the 60,000-example world, run as real processes: mirrored over
two logical CPUs, two multi-worker processes on localhost, a parameter-server cluster of two
workers and two servers (`garden.server`) with the chief. Each run is evaluated on a plain
single-device model restored from its checkpoint (garden.train does that after every run), so
each also shows its checkpoint restoring under another strategy.

Bound 0.02 AUC: the standard error of AUC on this world's 6,000 test impressions is about
0.007, and the runs differ in global batch (x2 for the synchronous strategies, learning rate
scaled with it), data order, and, for parameter servers, asynchronous (stale) updates.
"""
import json
import os
import subprocess
import sys

import pytest

from tests.garden.distribute_test import free_port

pytestmark = pytest.mark.slow
BOUND = 0.02


def train_command(world, model_dir, *flags):
    return [sys.executable, "-m", "garden.train", "--model=deepfm", f"--data_dir={world}",
            f"--model_dir={model_dir}", *flags]


def run_all(commands, timeout=900):
    """Starts (command, env) pairs together; returns the first one's output after all end."""
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=dict(os.environ, **env)) for cmd, env in commands]
    outputs = [p.communicate(timeout=timeout)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), outputs
    return outputs[0]


def servers(cluster, job):
    cmd = [sys.executable, "-m", "garden.server"]
    return [subprocess.Popen(cmd, env=dict(os.environ, TF_CONFIG=json.dumps(
        {"cluster": cluster, "task": {"type": job, "index": i}})),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i in range(len(cluster[job]))]


def auc(model_dir):
    with open(os.path.join(model_dir, "metrics.json")) as f:
        return json.load(f)["eval"]["auc"]


@pytest.fixture(scope="module")
def one_device_auc(small_world, tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("one_device"))
    run_all([(train_command(small_world, model_dir), {})])
    return auc(model_dir)


def test_mirrored_matches_one_device(small_world, one_device_auc, tmp_path):
    out = run_all([(train_command(small_world, str(tmp_path), "--strategy=mirrored",
                                  "--num_cpu_devices=2"), {})])
    assert "mirrored: 2 replica(s)" in out
    assert abs(auc(str(tmp_path)) - one_device_auc) <= BOUND, (auc(str(tmp_path)),
                                                               one_device_auc)


def test_multi_worker_matches_one_device(small_world, one_device_auc, tmp_path):
    workers = [f"localhost:{free_port()}" for _ in range(2)]
    commands = [(train_command(small_world, str(tmp_path), "--strategy=multi_worker"),
                 {"TF_CONFIG": json.dumps({"cluster": {"worker": workers},
                                           "task": {"type": "worker", "index": i}})})
                for i in range(2)]
    out = run_all(commands)
    assert "multi_worker: 2 replica(s)" in out
    assert abs(auc(str(tmp_path)) - one_device_auc) <= BOUND, (auc(str(tmp_path)),
                                                               one_device_auc)


def test_parameter_servers_match_one_device(small_world, one_device_auc, tmp_path):
    cluster = {"chief": [f"localhost:{free_port()}"],
               "worker": [f"localhost:{free_port()}" for _ in range(2)],
               "ps": [f"localhost:{free_port()}" for _ in range(2)]}
    tasks = servers(cluster, "ps") + servers(cluster, "worker")
    try:
        out = run_all([(train_command(small_world, str(tmp_path),
                                      "--strategy=parameter_server"),
                        {"TF_CONFIG": json.dumps({"cluster": cluster,
                                                  "task": {"type": "chief", "index": 0}})})])
    finally:
        for task in tasks:
            task.kill()
            task.wait()
    assert "parameter_server" in out
    assert abs(auc(str(tmp_path)) - one_device_auc) <= BOUND, (auc(str(tmp_path)),
                                                               one_device_auc)
