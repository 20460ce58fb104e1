"""Distribution strategies, for real on this machine: mirrored over two logical CPUs,
multi-worker with two processes on localhost, parameter servers in an in-process cluster."""
import json
import os
import socket
import subprocess
import sys

import pytest
import tensorflow as tf

from garden import config, distribute, registry, train
from input.reader import make_dataset
from input.specs import Schema
from tests.garden.train_test import run_cli

SMALL = "--batch_size=64"


def free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def in_process_cluster(num_workers=2, num_ps=2):
    """Worker and ps servers in this process; returns the chief's cluster resolver."""
    cluster = {"chief": [f"localhost:{free_port()}"],
               "worker": [f"localhost:{free_port()}" for _ in range(num_workers)],
               "ps": [f"localhost:{free_port()}" for _ in range(num_ps)]}
    spec = tf.train.ClusterSpec(cluster)
    # With 2 cores the default inter-op pool is too small for servers sharing one process.
    server_config = tf.compat.v1.ConfigProto(inter_op_parallelism_threads=num_workers + 4)
    servers = [tf.distribute.Server(spec, job_name=job, task_index=i, protocol="grpc",
                                    config=server_config, start=True)
               for job in ("worker", "ps") for i in range(len(cluster[job]))]
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        spec, task_type="chief", task_id=0, rpc_layer="grpc")
    return resolver, servers


def metrics(model_dir):
    with open(os.path.join(model_dir, "metrics.json")) as f:
        return json.load(f)


def test_mirrored_over_two_logical_cpus(tiny_world, tmp_path):
    model_dir = str(tmp_path / "mirrored")
    out = run_cli("garden.train", "--model=deepfm", f"--data_dir={tiny_world}",
                  f"--model_dir={model_dir}", "--strategy=mirrored", "--num_cpu_devices=2",
                  SMALL)
    assert "mirrored: 2 replica(s), global batch 128, learning rate 0.002" in out.stdout
    result = metrics(model_dir)
    assert result["eval"]["auc"] > 0.5 and result["export"]["max_abs_diff"] <= 1e-5
    # GAUC, like every evaluation metric, is computed once over all held-out predictions by a
    # single-device copy restored from the checkpoint, never per replica: the mirrored run's
    # numbers are this (one-device) process's on the same checkpoint, over every example.
    from garden import evaluate
    cfg, schema, data_dir, model = evaluate.load_trained(model_dir, log=lambda *a: None)
    again = evaluate.evaluate(model, schema, cfg, data_dir)
    eval_files = tf.io.gfile.glob(os.path.join(tiny_world, "ranking", "test-*"))
    assert result["eval"]["examples"] == sum(1 for _ in tf.data.TFRecordDataset(eval_files))
    assert again["gauc"] == pytest.approx(result["eval"]["gauc"], abs=1e-9)
    assert again["auc"] == pytest.approx(result["eval"]["auc"], abs=1e-9)


def test_one_device_checkpoint_resumes_under_mirrored(tiny_world, tmp_path):
    model_dir = str(tmp_path / "switch")
    run_cli("garden.train", "--model=deepfm", f"--data_dir={tiny_world}",
            f"--model_dir={model_dir}", SMALL)
    out = run_cli("garden.train", "--model=deepfm", f"--data_dir={tiny_world}",
                  f"--model_dir={model_dir}", "--strategy=mirrored", "--num_cpu_devices=2",
                  "--epochs=2", SMALL)
    assert "Resumed from" in out.stdout and "(1 epoch(s) and 0 step(s) done)" in out.stdout
    assert "global batch changed (64 -> 128)" in out.stdout
    assert "epoch 2 done" in out.stdout and "epoch 1 done" not in out.stdout


# two_tower's in-batch softmax all-gathers the replicas' items across the two processes.
@pytest.mark.parametrize("model", ["deepfm", pytest.param("two_tower", marks=pytest.mark.slow)])
def test_multi_worker_two_processes_on_localhost(tiny_world, tmp_path, model):
    model_dir = str(tmp_path / "multi_worker")
    workers = [f"localhost:{free_port()}" for _ in range(2)]
    procs = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "garden.train", f"--model={model}", f"--data_dir={tiny_world}",
             f"--model_dir={model_dir}", "--strategy=multi_worker", SMALL],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env))
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert "multi_worker: 2 replica(s), global batch 128" in outputs[0]
    assert "non-chief worker" in outputs[1]
    result = metrics(model_dir)
    assert result["export"]["max_abs_diff"] <= 1e-5
    if model == "deepfm":
        assert result["eval"]["auc"] > 0.5
    else:
        assert result["eval"]["hr@50"] > result["eval"]["popularity_hr@50"]
        # One synchronous loss: both workers log the same epoch losses.
        losses = [[line.split("loss ")[1].split()[0] for line in out.splitlines()
                   if " done in " in line and "loss " in line] for out in outputs]
        assert losses[0] and losses[0] == losses[1], losses


def test_parameter_servers_shard_tables_and_train(tiny_world, tmp_path):
    # One cluster per test process: the coordinator connects to it once.
    resolver, _servers = in_process_cluster()
    strategy = distribute.make_strategy("parameter_server", cluster_resolver=resolver,
                                        ps_shard_bytes=4096)
    cfg = config.resolve("deepfm", overrides={"data.data_dir": tiny_world,
                                              "train.batch_size": 64,
                                              "train.strategy": "parameter_server"})
    schema = Schema.load(os.path.join(tiny_world, "ranking"))
    with strategy.scope():
        model = registry.build_model(cfg, schema)
        features, _ = next(iter(make_dataset(
            schema, os.path.join(tiny_world, "ranking", "test-*"), 4, training=False)))
        model(features)
    item_table = model.embedding.embeddings["item_id"]  # 201 x 16 floats: > 4 KB
    assert type(item_table).__name__ == "ShardedVariable", type(item_table)
    assert len(item_table.variables) == 2
    assert {v.device.split("/")[1] for v in item_table.variables} == {"job:ps"}

    result = train.train(cfg, str(tmp_path / "ps"), log=lambda *a: None, strategy=strategy)
    assert result["eval"]["auc"] > 0.5 and result["export"]["max_abs_diff"] <= 1e-5


def test_clear_errors_without_a_cluster(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG, which is not set"):
        distribute.make_strategy("multi_worker")
    with pytest.raises(ValueError, match="needs --tpu"):
        distribute.make_strategy("tpu")
