"""In-batch negatives over the global batch under MirroredStrategy (two logical CPUs): the
same global batch and the same weights give the one-device loss, gradients, weights and
frequency estimates. The measurements run in a process of their own
(tests/garden/global_batch_checks.py), which splits the CPU before TensorFlow starts."""
import json
import subprocess
import sys

import pytest

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def checks(tiny_world, tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("global_batch") / "two_tower")
    result = subprocess.run(
        [sys.executable, "-m", "tests.garden.global_batch_checks", tiny_world, model_dir],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-5000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("head", ["in_batch", "mixed"])
def test_head_over_two_replicas_equals_one_device(checks, head):
    # Shards of 3 and 2 examples; item 3 is the target on both replicas (an accidental hit
    # across them); two steps, so that the second reads the estimates the first wrote.
    assert checks["replicas"] == 2
    out = checks["head"][head]
    assert out["mirrored_loss"] == pytest.approx(out["one_device_loss"], abs=TOLERANCE)
    assert out["grad_diff"] <= TOLERANCE  # d loss / d (queries, items), both replicas' slices
    # The estimator counted the global batch once per step, identically on both copies.
    assert out["estimator_step"] == 2
    assert out["estimator_diff"] == 0 and out["estimator_copies_diff"] == 0
    # Negatives from one replica's shard only would give a measurably different loss.
    assert abs(out["per_replica_negatives_loss"] - out["one_device_loss"][0]) > 0.1


def test_two_tower_train_step_over_two_replicas_equals_one_device(checks):
    out = checks["two_tower"]
    assert out["mirrored_loss"] == pytest.approx(out["one_device_loss"], abs=TOLERANCE)
    assert out["moved"] > 0.1  # two SGD steps changed the weights ...
    assert out["weight_diff"] <= TOLERANCE * out["moved"]  # ... the same way on both paths
    assert out["estimator_step"] == 2
    assert abs(out["per_replica_negatives_loss"] - out["one_device_loss"][0]) > 0.1


def test_two_tower_trains_under_mirrored_with_the_global_batch_rules(checks):
    out = checks["train"]
    # train.batch_size 64 per replica, the experiment's learning rate 0.003 x 2 replicas.
    assert "[mirrored: 2 replica(s), global batch 128, learning rate 0.006, float32]" \
        in out["log"][0], out["log"]
    assert out["steps"] == -(-out["train_records"] // 128)
    # Inside Keras fit each replica's head gets 64 queries and scores them against the 128
    # items of the global batch.
    assert out["queries_per_replica"] == 64 and out["candidates_per_query"] == 128
    assert out["eval"]["examples"] > 0 and out["export_diff"] <= 1e-5
