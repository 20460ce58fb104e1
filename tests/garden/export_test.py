"""Serving exports: layout, model card, warm-up requests, raw-feature signature, OOV ids,
calibration baked in, atomicity, --check; embedding health and projector files; base AUC."""
import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from garden import base_model, calibration, check_embeddings, config, export, train
from garden.evaluate import load_trained
from input.reader import parse_batch
from input.specs import Schema


def run_cli(module, *args):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True,
                          text=True, timeout=600)


def tiny_train(name, world, model_dir, **overrides):
    family = "ranking" if name == "deepfm" else "retrieval"
    cfg = config.resolve(name, overrides={"data.data_dir": os.path.join(world, family),
                                          "train.batch_size": 128,
                                          "train.steps_per_execution": 5, **overrides})
    return train.train(cfg, model_dir, log=lambda *a: None)


@pytest.fixture(scope="module")
def deepfm_run(tiny_world, tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("ship") / "deepfm")
    result = tiny_train("deepfm", tiny_world, model_dir, **{
        "model.hidden_units": [16], "eval.calibrate": "platt", "eval.base_auc": True})
    return model_dir, result


@pytest.fixture(scope="module")
def sdm_run(tiny_world, tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("ship") / "sdm")
    result = tiny_train("sdm", tiny_world, model_dir, **{
        "model.embedding_dim": 8, "model.num_sampled": 20, "model.top_k": 5})
    return model_dir, result


def _record_files(world, family, split="test"):
    return sorted(glob.glob(os.path.join(world, family, f"{split}-*")))


def examples(world, family, n=8):
    files = _record_files(world, family)
    return [r.numpy() for r in tf.data.TFRecordDataset(files).take(n)]


def test_layout_model_card_and_warmup(deepfm_run):
    model_dir, result = deepfm_run
    path = os.path.join(model_dir, "export", "deepfm", "1")
    assert result["export"]["path"] == path and result["export"]["max_abs_diff"] <= 1e-5
    card = json.load(open(os.path.join(path, "model_card.json")))
    assert card["model_name"] == "deepfm" and card["version"] == 1
    assert set(card["signatures"]) == {"serving_default", "raw_features"}
    raw = card["signatures"]["raw_features"]["inputs"]
    assert raw["item_id"] == {"dtype": "int64", "shape": [-1]}
    assert raw["price"] == {"dtype": "float32", "shape": [-1, 1]}
    assert set(raw) == set(card["features"])
    assert card["signatures"]["serving_default"]["inputs"] == {
        "examples": {"dtype": "string", "shape": [-1]}}
    assert card["metrics"]["auc"] == result["eval"]["auc"]
    assert card["training_config"]["model"]["hidden_units"] == [16]
    assert Schema.from_dict(card["schema"]).names
    from tensorflow_serving.apis import prediction_log_pb2
    requests = []
    for raw_log in tf.data.TFRecordDataset(os.path.join(path, export.WARMUP_FILE)):
        log = prediction_log_pb2.PredictionLog.FromString(raw_log.numpy())
        request = log.predict_log.request
        assert request.model_spec.name == "deepfm"
        assert request.model_spec.signature_name == "serving_default"
        batch = tf.make_ndarray(request.inputs["examples"])
        tf.train.Example.FromString(batch[0])  # real serialized examples
        requests.append(len(batch))
    assert requests == [1, 4, 16]


def test_raw_features_match_examples_and_oov_ids_map_to_padding(deepfm_run, tiny_world):
    model_dir, _ = deepfm_run
    loaded = tf.saved_model.load(os.path.join(model_dir, "export", "deepfm", "1"))
    records = tf.constant(examples(tiny_world, "ranking"))
    by_example = loaded.signatures["serving_default"](examples=records)["probability"]
    schema = Schema.load(os.path.join(tiny_world, "ranking"))
    card = json.load(open(os.path.join(model_dir, "export", "deepfm", "1", "model_card.json")))
    features, _ = parse_batch(schema, records, with_labels=False, names=card["features"])
    raw = loaded.signatures["raw_features"]
    np.testing.assert_allclose(raw(**features)["probability"], by_example, atol=1e-6)
    outputs = {}
    for item in (0, schema.vocab_size("item_id"), 10**9, -5):
        features["item_id"] = tf.fill(tf.shape(features["item_id"]), tf.constant(item,
                                                                                 tf.int64))
        outputs[item] = raw(**features)["probability"].numpy()
    for item in (schema.vocab_size("item_id"), 10**9, -5):
        np.testing.assert_array_equal(outputs[item], outputs[0])
    features["item_id"] = tf.ones_like(features["item_id"])  # a real item scores otherwise
    assert not np.array_equal(raw(**features)["probability"].numpy(), outputs[0])


def test_calibrator_is_baked_into_the_export(deepfm_run, tiny_world):
    model_dir, result = deepfm_run
    report = result["calibration"]
    assert report["method"] == "platt" and os.path.exists(report["plot"])
    assert report["fit_examples"] + report["report_examples"] == result["eval"]["examples"]
    assert {"ece", "buckets", "predicted_over_observed"} <= set(report["after"])
    calibrator = calibration.load(model_dir)
    loaded = tf.saved_model.load(os.path.join(model_dir, "export", "deepfm", "1"))
    out = loaded.signatures["serving_default"](
        examples=tf.constant(examples(tiny_world, "ranking", 64)))
    raw = out["uncalibrated_probability"].numpy().astype(np.float64)
    np.testing.assert_allclose(out["probability"],
                               calibrator.apply_np(np.log(raw) - np.log1p(-raw)), atol=1e-5)
    assert not np.allclose(out["probability"], raw, atol=1e-4)


def test_interrupted_export_leaves_no_version(deepfm_run, monkeypatch):
    model_dir, _ = deepfm_run
    _, schema, _, model = load_trained(model_dir, log=lambda *a: None)
    base = os.path.join(model_dir, "interrupted")

    def fail(*args):
        raise OSError("disk full")
    monkeypatch.setattr(export, "write_warmup_requests", fail)
    with pytest.raises(OSError, match="disk full"):
        export.export_model(model, schema, base, "deepfm", warmup_records=[b"x"])
    assert os.listdir(os.path.join(base, "deepfm")) == []


def test_check_cli_passes_and_catches_a_wrong_export(deepfm_run):
    model_dir, _ = deepfm_run
    out = run_cli("garden.export", f"--model_dir={model_dir}", "--check")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "signature_def['raw_features']" in out.stdout and "--check passed" in out.stdout
    # An export of a perturbed model must fail the check.
    _, schema, _, model = load_trained(model_dir, log=lambda *a: None)
    model.logit.bias.assign_add([0.5])
    wrong = export.export_model(model, schema, os.path.join(model_dir, "wrong"), "deepfm",
                                export.serving_outputs_fn(model, model_dir))
    out = run_cli("garden.export", f"--model_dir={model_dir}", "--check",
                  f"--export_dir={wrong}")
    assert out.returncode != 0 and "--check failed" in out.stderr


def test_compare_scales_the_difference_by_the_score():
    trained = {"scores": np.array([[1000.0, 0.5]], np.float32),
               "item_ids": np.array([[3, 7]])}

    def exported(scores, ids=(3, 7)):
        out = {"scores": np.array([scores], np.float32), "item_ids": np.array([ids])}
        return {**out, **{f"raw_features/{k}": v for k, v in out.items()}}
    close = export.compare(trained, exported([1000.004, 0.5]))  # 4e-6 of a large score
    assert close["max_abs_diff"] == pytest.approx(0.004, rel=0.01)
    assert close["max_scaled_diff"] == pytest.approx(4e-6, rel=0.01)
    assert export.compare(trained, exported([1000.0, 0.5001]))["max_scaled_diff"] > 5e-5
    assert export.compare(trained, exported([1000.0, np.nan]))["max_scaled_diff"] == np.inf
    swapped = export.compare(trained, exported([1000.0, 0.5], ids=(7, 3)))
    assert swapped["max_abs_diff"] == swapped["max_scaled_diff"] == np.inf
    missing = {k: v for k, v in exported([1000.0, 0.5]).items() if "item_ids" not in k}
    with pytest.raises(RuntimeError, match="item_ids"):
        export.compare(trained, missing)


def test_a_version_that_fails_the_check_is_not_served(deepfm_run, monkeypatch):
    model_dir, _ = deepfm_run
    cfg, schema, data_dir, model = load_trained(model_dir, log=lambda *a: None)
    base = os.path.join(str(model_dir), "rejecting")
    good = export.export_run(cfg, model, schema, data_dir, model_dir, export_base=base)
    assert good["passed"] and good["path"].endswith(os.path.join("deepfm", "1"))
    monkeypatch.setattr(export, "compare",
                        lambda *a: {"max_abs_diff": 0.5, "max_scaled_diff": 0.5})
    bad = export.export_run(cfg, model, schema, data_dir, model_dir, export_base=base)
    assert not bad["passed"] and bad["path"].endswith(os.path.join("deepfm", "rejected-2"))
    model_base = os.path.join(base, "deepfm")
    assert sorted(os.listdir(model_base)) == ["1", "rejected-2"]
    assert export.latest_version(model_base) == os.path.join(model_base, "1")
    assert export.next_version(model_base) == 3  # the rejected number is never reused
    assert "0.5" in export.mismatch_message(bad)


def test_train_exits_1_when_the_export_check_fails(tiny_world, tmp_path):
    script = ("import sys; from garden import export, train; "
              "export.compare = lambda *a: {'max_abs_diff': 0.5, 'max_scaled_diff': 0.5}; "
              "sys.argv[1:] = %r; train.run()" % [
                  "--model=lr", f"--data_dir={tiny_world}", f"--model_dir={tmp_path}",
                  "--batch_size=256", "--params_override=train.steps_per_execution=5"])
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 1 and "export check failed" in out.stderr, out.stderr[-3000:]
    assert json.load(open(tmp_path / "metrics.json"))["export"]["passed"] is False
    assert os.listdir(tmp_path / "export" / "lr") == ["rejected-1"]


def test_export_cli_on_a_two_tower_run(tiny_world, tmp_path):
    # The item tower is built when the run is loaded, not inside the export's tf.function
    # (which could not track its variables: garden.evaluate.load_trained).
    model_dir = str(tmp_path / "two_tower")
    tiny_train("two_tower", tiny_world, model_dir)
    out = run_cli("garden.export", f"--model_dir={model_dir}")
    assert out.returncode == 0, out.stderr[-3000:]
    assert os.path.exists(os.path.join(model_dir, "export", "two_tower", "2", "saved_model.pb"))
    top_k = json.loads(out.stdout.strip().splitlines()[-1])
    assert top_k["path"].endswith(os.path.join("index", "top_k", "2"))
    assert top_k["passed"] and top_k["too_large_k_rejected"], top_k
    assert top_k["id_agreement"] >= 0.99 and top_k["max_scaled_diff"] <= export.TOLERANCE


def test_embedding_health_runs_after_training_and_as_a_cli(deepfm_run):
    model_dir, result = deepfm_run
    values = result["embeddings"]["tables"]["item_id"]
    assert {"knn_agreement", "random_agreement", "norm_cv", "mean_cosine", "effective_rank",
            "never_updated", "never_seen"} <= set(values)
    assert values["seen_never_updated"] == 0.0  # every row the data touched moved
    assert os.path.exists(values["pca_plot"])
    tags = set()
    for path in glob.glob(os.path.join(model_dir, "embeddings", "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value)
    assert "item_id/knn_agreement" in tags, tags
    out = run_cli("garden.check_embeddings", f"--model_dir={model_dir}", "--min_knn_lift=0")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    saved = json.load(open(os.path.join(model_dir, "metrics.json")))["embeddings"]
    assert saved["passed"] and saved["tables"]["item_id"]["knn_agreement"] == pytest.approx(
        values["knn_agreement"])
    out = run_cli("garden.check_embeddings", f"--model_dir={model_dir}", "--min_knn_lift=100")
    assert out.returncode == 1 and "FAIL kNN" in out.stdout


def test_projector_files(sdm_run, tiny_world):
    model_dir, result = sdm_run
    folder = os.path.join(model_dir, "embeddings")
    from tensorboard.plugins import projector
    from google.protobuf import text_format
    cfg = text_format.Parse(open(os.path.join(folder, "projector_config.pbtxt")).read(),
                            projector.ProjectorConfig())
    reader = tf.train.load_checkpoint(folder)
    shapes = reader.get_variable_to_shape_map()
    names = {e.tensor_name for e in cfg.embeddings}
    assert {"item_id/.ATTRIBUTES/VARIABLE_VALUE", "item_output/.ATTRIBUTES/VARIABLE_VALUE",
            "user_vectors/.ATTRIBUTES/VARIABLE_VALUE"} == names
    for e in cfg.embeddings:
        rows = open(os.path.join(folder, e.metadata_path)).read().splitlines()
        assert len(rows) - 1 == shapes[e.tensor_name][0]  # a header line, then one per row
    items = open(os.path.join(folder, "items.tsv")).read().splitlines()
    assert items[0].split("\t") == ["id", "cat", "brand", "popularity_bucket", "count"]
    assert set(result["embeddings"]["tables"]) == {"item_id", "item_output"}


def test_retrieval_export_signatures(sdm_run, tiny_world):
    model_dir, result = sdm_run
    assert result["export"]["max_abs_diff"] <= 1e-5
    path = os.path.join(model_dir, "export", "sdm", "1")
    loaded = tf.saved_model.load(path)
    assert {"serving_default", "raw_features", "user_vector", "top_k"} <= set(
        loaded.signatures)
    card = json.load(open(os.path.join(path, "model_card.json")))
    raw = card["signatures"]["raw_features"]["inputs"]
    assert raw["short_item_id"]["shape"] == [-1, 10]
    assert raw["short_item_id_len"] == {"dtype": "int32", "shape": [-1]}
    records = tf.constant(examples(tiny_world, "retrieval", 4))
    top = loaded.signatures["top_k"](examples=records, k=tf.constant(3))
    assert top["item_ids"].shape == (4, 3)


def test_base_auc(deepfm_run, tiny_world):
    _, result = deepfm_run
    assert 0.0 <= result["eval"]["base_auc"] <= 1.0
    assert result["eval"]["item_feature_auc_gain"] == pytest.approx(
        result["eval"]["auc"] - result["eval"]["base_auc"])
    schema = Schema.load(os.path.join(tiny_world, "ranking"))
    assert base_model.base_features(schema) == sorted(
        ["user_id", "age", "gender", "city", "hist_item_id", "hist_cat_id", "hist_brand_id",
         "hist_session_id"])
    features = {"item_id": tf.constant([3, 4]), "age": tf.constant([1, 2]),
                "hist_item_id": tf.constant([[5, 6]]), "hist_item_id_len": tf.constant([2]),
                "price": tf.constant([[1.5], [2.0]])}
    blank = base_model.blank_non_base(schema, features)
    assert blank["item_id"].numpy().tolist() == [0, 0] and blank["price"].numpy().sum() == 0
    assert blank["age"].numpy().tolist() == [1, 2]
    assert blank["hist_item_id_len"].numpy().tolist() == [2]
