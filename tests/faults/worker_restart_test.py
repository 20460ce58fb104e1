"""Killing one worker of a distributed job.

- Parameter servers: the coordinator reschedules the dead worker's steps on the others and
  takes the worker back when it restarts; the job finishes without a restart of its own.
- Multi-worker (synchronous all-reduce): the surviving worker cannot step alone, so the job is
  restarted, as a cluster manager (a TFJob's restart policy) does; it resumes from the last
  step checkpoint instead of starting over.
"""
import json
import os
import signal
import subprocess
import sys
import time

from tests.faults.conftest import tally
from tests.garden.distribute_test import free_port

SMALL = ["--model=deepfm", "--batch_size=64",
         "--params_override=model.hidden_units=[16],train.checkpoint_every_steps=5,"
         "train.steps_per_execution=5,train.log_every_steps=5"]


def start(module, cluster, task_type, index, *args):
    env = dict(os.environ, PYTHONUNBUFFERED="1", TF_CONFIG=json.dumps(
        {"cluster": cluster, "task": {"type": task_type, "index": index}}))
    return subprocess.Popen([sys.executable, "-m", module, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)


def read_until(proc, needle, timeout=300):
    """Lines of proc's output up to the first that contains `needle`."""
    lines, deadline = [], time.time() + timeout
    for line in proc.stdout:
        lines.append(line)
        if needle in line or time.time() > deadline:
            break
    assert lines and needle in lines[-1], "".join(lines[-40:])
    return lines


def stop(*procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
        p.stdout.close()


def test_parameter_server_job_survives_a_killed_and_restarted_worker(tiny_world, tmp_path):
    cluster = {"chief": [f"localhost:{free_port()}"], "ps": [f"localhost:{free_port()}"],
               "worker": [f"localhost:{free_port()}" for _ in range(2)]}
    servers = [start("garden.server", cluster, "ps", 0)]
    servers += [start("garden.server", cluster, "worker", i) for i in range(2)]
    model_dir = str(tmp_path / "ps")
    try:
        for server in servers:
            read_until(server, "serving at")
        chief = start("garden.train", cluster, "chief", 0, *SMALL, "--epochs=3",
                      "--strategy=parameter_server", f"--data_dir={tiny_world}",
                      f"--model_dir={model_dir}")
        read_until(chief, "epoch 1 done")
        servers[2].send_signal(signal.SIGKILL)
        servers[2].wait(timeout=60)
        tally("kills survived")
        time.sleep(2)
        servers[2] = start("garden.server", cluster, "worker", 1)
        read_until(servers[2], "serving at")
        out = chief.communicate(timeout=600)[0]
        assert chief.returncode == 0, out[-3000:]
        assert "epoch 3 done" in out
        result = json.load(open(os.path.join(model_dir, "metrics.json")))
        assert result["eval"]["auc"] > 0.5 and result["export"]["max_abs_diff"] <= 1e-5
    finally:
        stop(*servers)


def test_multi_worker_job_resumes_after_a_worker_is_killed(tiny_world, tmp_path):
    cluster = {"worker": [f"localhost:{free_port()}" for _ in range(2)]}
    model_dir = str(tmp_path / "mw")
    args = [*SMALL, "--epochs=2", "--strategy=multi_worker", f"--data_dir={tiny_world}",
            f"--model_dir={model_dir}"]
    workers = [start("garden.train", cluster, "worker", i, *args) for i in range(2)]
    try:
        read_until(workers[0], "epoch 1 step 20 ")
        workers[1].send_signal(signal.SIGKILL)
        tally("kills survived")
        # The survivor fails (or waits on its peer); the job controller restarts the job.
        stop(*workers)
        workers = [start("garden.train", cluster, "worker", i, *args) for i in range(2)]
        outputs = [w.communicate(timeout=600)[0] for w in workers]
        assert [w.returncode for w in workers] == [0, 0], [o[-2000:] for o in outputs]
        assert "Resumed from" in outputs[0] and "0 epoch(s) and 0 step(s)" not in outputs[0]
        result = json.load(open(os.path.join(model_dir, "metrics.json")))
        assert result["eval"]["auc"] > 0.5
    finally:
        stop(*workers)
