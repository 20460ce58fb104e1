"""The command-line tools, end to end, as a user runs them."""
import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import yaml


def run_cli(module, *args, check=True):
    result = subprocess.run([sys.executable, "-m", module, *args], capture_output=True,
                            text=True, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"{module} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="module")
def deepfm_run(tiny_world, tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("run") / "deepfm")
    out = run_cli("garden.train", "--model=deepfm", f"--data_dir={tiny_world}",
                  f"--model_dir={model_dir}", "--batch_size=128",
                  "--params_override=model.hidden_units=[16],train.log_every_steps=5,"
                  "train.steps_per_execution=5")
    return model_dir, out.stdout


def test_train_writes_everything(deepfm_run):
    model_dir, stdout = deepfm_run
    for metric in ("auc", "logloss", "gauc", "oracle_auc", "popularity_auc", "gap_closed"):
        assert f"  {metric} " in stdout, stdout
    assert "step 5 " in stdout and "ex/s" in stdout  # progress lines when not on a terminal
    cfg = yaml.safe_load(open(os.path.join(model_dir, "config.yaml")))
    assert cfg["model_name"] == "deepfm" and cfg["model"]["hidden_units"] == [16]
    result = json.load(open(os.path.join(model_dir, "metrics.json")))
    assert 0.5 < result["eval"]["auc"] <= 1.0
    assert result["export"]["max_abs_diff"] <= 1e-5
    assert tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
    assert os.path.exists(os.path.join(model_dir, "export", "deepfm", "1", "saved_model.pb"))
    tags = set()
    for path in glob.glob(os.path.join(model_dir, "train", "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value)
    assert {"examples_per_second", "epoch_loss", "epoch_auc"} <= tags, tags


def test_evaluate_and_export_clis(deepfm_run):
    model_dir, _ = deepfm_run
    trained = json.load(open(os.path.join(model_dir, "metrics.json")))["eval"]
    out = run_cli("garden.evaluate", f"--model_dir={model_dir}")
    evaluated = json.loads(out.stdout.strip().splitlines()[-1])
    assert evaluated["auc"] == pytest.approx(trained["auc"], abs=1e-6)
    out = run_cli("garden.export", f"--model_dir={model_dir}")
    assert os.path.exists(os.path.join(model_dir, "export", "deepfm", "2", "saved_model.pb"))
    assert json.loads(out.stdout.strip().splitlines()[-1])["max_abs_diff"] <= 1e-5
    leftovers = [n for n in os.listdir(os.path.join(model_dir, "export", "deepfm")) if n.startswith(".")]
    assert leftovers == []


def test_exported_ranking_model_serves_tf_examples(deepfm_run, tiny_world):
    model_dir, _ = deepfm_run
    loaded = tf.saved_model.load(os.path.join(model_dir, "export", "deepfm", "1"))
    serve = loaded.signatures["serving_default"]
    records = list(tf.data.TFRecordDataset(
        glob.glob(os.path.join(tiny_world, "ranking", "test-*"))).take(5))
    probs = serve(examples=tf.constant([r.numpy() for r in records]))["probability"].numpy()
    assert probs.shape == (5,) and np.all((probs > 0) & (probs < 1))


def test_rerun_resumes_from_the_checkpoint(deepfm_run, tiny_world):
    model_dir, _ = deepfm_run
    out = run_cli("garden.train", "--model=deepfm", f"--data_dir={tiny_world}",
                  f"--model_dir={model_dir}", "--batch_size=128", "--epochs=2",
                  "--params_override=model.hidden_units=[16]")
    assert "Resumed from" in out.stdout and "(1 epoch(s) and 0 step(s) done)" in out.stdout
    assert "epoch 2 done" in out.stdout and "epoch 1 done" not in out.stdout


def test_bad_flags_are_clear_errors(tiny_world, tmp_path):
    out = run_cli("garden.train", "--model=deepfmm", check=False)
    assert out.returncode != 0 and "registered models" in out.stderr
    out = run_cli("garden.train", "--model=deepfm", "--params_override=model.hiden=3",
                  check=False)
    assert out.returncode != 0 and "model.hiden" in out.stderr
    out = run_cli("garden.train", "--model=deepfm", f"--data_dir={tmp_path}", check=False)
    assert out.returncode != 0 and "no schema.yaml" in out.stderr


def test_data_cli_writes_the_synthetic_world(tmp_path):
    out_dir = str(tmp_path / "world")
    run_cli("garden.data", "--dataset=synthetic", f"--out_dir={out_dir}",
            "--num_examples=1000", "--seed=5")
    for family in ("ranking", "retrieval"):
        names = os.listdir(os.path.join(out_dir, family))
        assert "schema.yaml" in names and "items.csv" in names
        assert any(n.startswith("train-") for n in names)
