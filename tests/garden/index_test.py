"""Item vectors and the top-K SavedModel (garden/index.py) for every retrieval model."""
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from garden import config, export, index, registry
from input.reader import make_dataset
from input.specs import Schema


def _model(name, world, override=""):
    folder = os.path.join(world, "retrieval")
    cfg = config.resolve(name, params_override=override)
    schema = Schema.load(folder)
    model = registry.build_model(cfg, schema)
    model.prepare(os.path.join(folder, "train-*.tfrecord"))
    features, _ = next(iter(make_dataset(schema, os.path.join(folder, "test-*.tfrecord"), 64,
                                         training=False)))
    model.scores(features)  # builds the variables (untrained weights are as good a test)
    return model, schema, features


@pytest.mark.parametrize("name", registry.list_models("retrieval"))
def test_top_k_savedmodel_retrieves_what_the_model_ranks(name, tiny_world, tmp_path):
    model, _, features = _model(name, tiny_world, "model.top_k=20")
    path = index.export_index(model, str(tmp_path))
    vectors = np.load(tmp_path / "item_vectors.npy")
    ids = np.load(tmp_path / "item_ids.npy")
    assert vectors.shape[0] == ids.shape[0] == model.scores(features).shape[1] - 1
    assert ids[0] == 1
    result = index.check_index(model, features, path)
    assert result["max_scaled_diff"] <= export.TOLERANCE, result
    assert result["id_agreement"] >= 0.99, result
    assert result["too_large_k_rejected"], result
    # The item vectors reproduce the model's scores with the index query transform.
    query = model.index_queries(model(features))
    scores = tf.einsum("...d,nd->...n", query, vectors).numpy()
    if scores.ndim == 3:  # one row per interest: an item's score is its best interest
        scores = scores.max(axis=1)
    np.testing.assert_allclose(scores, model.scores(features).numpy()[:, 1:], atol=1e-4)


def test_top_k_comparison_catches_a_wrong_item_a_nan_and_a_missing_output():
    expected = {"ids2": np.array([[7, 8]]), "scores2": np.array([[5.0, 4.0]], np.float32)}
    tie = {"ids2": np.array([[7, 9]]), "scores2": np.array([[5.0, 4.0]], np.float32)}
    assert index.compare_top_k(expected, tie) == {"max_abs_diff": 0.0, "max_scaled_diff": 0.0,
                                                  "id_agreement": 0.5}
    wrong = {"ids2": np.array([[7, 9]]), "scores2": np.array([[5.0, 3.0]], np.float32)}
    assert index.compare_top_k(expected, wrong)["max_scaled_diff"] == 0.25
    nan = {"ids2": expected["ids2"], "scores2": np.array([[5.0, np.nan]], np.float32)}
    assert index.compare_top_k(expected, nan)["max_abs_diff"] == float("inf")
    with pytest.raises(RuntimeError, match="'scores2' missing"):
        index.compare_top_k(expected, {"ids2": expected["ids2"]})


def test_an_index_that_fails_its_check_is_rejected(tiny_world, tmp_path, monkeypatch):
    model, schema, _ = _model("youtube_dnn", tiny_world, "model.top_k=5")
    pattern = os.path.join(tiny_world, "retrieval", "test-*.tfrecord")
    monkeypatch.setattr(index, "check_index", lambda *args, **kwargs: {
        "queries": 8, "too_large_k_rejected": True, "max_abs_diff": 0.01,
        "max_scaled_diff": 1e-3, "id_agreement": 1.0})
    info = index.export_and_check(model, schema, str(tmp_path), pattern, num_examples=8)
    assert not info["passed"] and info["path"] == str(tmp_path / "top_k" / "rejected-1")
    assert "differ from the model's by 0.001" in index.mismatch_message(info)
    assert os.listdir(tmp_path / "top_k") == ["rejected-1"]
    assert export.next_version(str(tmp_path / "top_k")) == 2  # its number is not reused
    info["too_large_k_rejected"] = False
    assert "accepted a k above its max_k" in index.mismatch_message(info)


def test_union_of_interest_lists_keeps_each_item_once():
    scores = tf.constant([[5.0, 3.0, 4.0, 2.0]])  # interest 1: items 7, 8; interest 2: 8, 9
    ids = tf.constant([[7, 8, 8, 9]], tf.int64)
    values, items = index._union_top_k(scores, ids, 3)
    np.testing.assert_array_equal(items, [[7, 8, 9]])
    np.testing.assert_allclose(values, [[5.0, 4.0, 2.0]])


def test_two_tower_prepare_reads_every_items_side_features(tiny_world):
    model, _, _ = _model("two_tower", tiny_world)
    table = model.item_feature_table.numpy()
    catalog = np.loadtxt(os.path.join(tiny_world, "retrieval", "items.csv"), delimiter=",",
                         skiprows=1, dtype=np.int64)
    seen = catalog[catalog[:, -1] > 0]  # the items.csv count column: training examples
    np.testing.assert_array_equal(table[seen[:, 0]], seen[:, :4])
    unseen = catalog[catalog[:, -1] == 0, 0]
    np.testing.assert_array_equal(table[unseen, 1:], 0)
    np.testing.assert_array_equal(table[:, 0], np.arange(len(table)))


def test_unigram_sampler_gets_the_training_counts(tiny_world):
    model, _, _ = _model("youtube_dnn", tiny_world, "model.sampler=unigram")
    catalog = np.loadtxt(os.path.join(tiny_world, "retrieval", "items.csv"), delimiter=",",
                         skiprows=1, dtype=np.int64)
    counts = model.head.item_counts.numpy()
    np.testing.assert_array_equal(counts[catalog[:, 0]], catalog[:, -1])
    assert not model.head.item_counts.trainable


def test_scann_index_fails_with_the_reason(tmp_path):
    # scann 1.4.2's TensorFlow ops are built for TF 2.20 and do not load into TF 2.21, so
    # --index=scann stops before exporting anything and says why (garden/index.py).
    with pytest.raises(ValueError, match=r"tensorflow~=2\.20\.0.*--index=brute_force"):
        index.check_index_kind("scann")
    with pytest.raises(ValueError, match="must be one of"):
        index.check_index_kind("faiss")
    with pytest.raises(ValueError, match="tfrs.layers.factorized_top_k.ScaNN"):
        index.export_index(None, str(tmp_path), kind="scann")
    assert not os.listdir(tmp_path)
    result = subprocess.run([sys.executable, "-m", "garden.export",
                             f"--model_dir={tmp_path}", "--index=scann"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "error: --index=scann needs ScaNN's TensorFlow ops" in result.stderr, result.stderr
