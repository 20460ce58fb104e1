"""item2vec, deepwalk, node2vec and eges: embeddings that cluster by category, EGES's cold
start and catalog, and clear errors. (Training, metrics and export: models_test.py.)"""
import os

import numpy as np
import pytest

import garden  # noqa: F401
import tensorflow as tf

from garden import config, registry
from garden.config import ConfigError
from garden.embedding_quality import knn_category_agreement
from garden.models import skipgram
from input.reader import make_dataset
from input.specs import Schema

MODELS = ["item2vec", "deepwalk", "node2vec", "eges"]


def _setup(name, world, **model_overrides):
    overrides = {"data.data_dir": world, **{f"model.{k}": v for k, v in
                                            model_overrides.items()}}
    cfg = config.resolve(name, overrides=overrides)
    data_dir = os.path.join(world, "retrieval")
    schema = Schema.load(data_dir)
    return cfg, schema, data_dir


def _train(name, world, steps=150):
    """A short run of the default experiment's model: prepare, then `steps` skip-gram steps
    (the model draws its own pairs; the examples Keras feeds are not read)."""
    tf.keras.utils.set_random_seed(0)
    cfg, schema, data_dir = _setup(name, world)
    model = registry.build_model(cfg, schema)
    model.prepare(os.path.join(data_dir, cfg.data.train_pattern))
    model.compile(optimizer=tf.keras.optimizers.Adam(cfg.train.learning_rate),
                  steps_per_execution=50)
    dummy = make_dataset(schema, os.path.join(data_dir, cfg.data.eval_pattern), 2,
                         training=False).repeat()
    model.fit(dummy, steps_per_epoch=steps, epochs=1, verbose=0)
    return model, data_dir


def _categories(data_dir, num_items):
    rows = np.loadtxt(os.path.join(data_dir, "items.csv"), delimiter=",", skiprows=1,
                      dtype=np.int64, usecols=[0, 1])
    cats = np.zeros(num_items, np.int64)
    cats[rows[:, 0]] = rows[:, 1]
    return cats


@pytest.fixture(scope="module", params=MODELS)
def trained(request, small_world):
    model, data_dir = _train(request.param, small_world)
    return request.param, model, data_dir


def test_nearest_items_share_the_category_far_above_random(trained):
    # On the synthetic world a session's items share one category, so items that co-occur
    # are of one category; untrained vectors score the random rate (1/8 here).
    name, model, data_dir = trained
    cats = _categories(data_dir, model.num_items)
    out = knn_category_agreement(model.item_embeddings(), cats, k=10)
    assert out["knn_agreement"] >= 0.6 and out["lift"] >= 4.0, (name, out)
    assert 0.1 < out["random_agreement"] < 0.15, out


def test_eges_cold_items_land_among_their_category(trained):
    name, model, data_dir = trained
    if name != "eges":
        pytest.skip("EGES only")
    cats = _categories(data_dir, model.num_items)
    side = model.side_info.numpy()
    np.testing.assert_array_equal(side[1:, 0], cats[1:])  # side info table: cat_id first
    cold = np.arange(1, 41)
    warm_vectors = model.item_embeddings()
    counts = model.item_counts.numpy()
    counts[cold] = 0.0
    model.item_counts.assign(counts)  # pretend these 40 items were never seen
    vectors = model.item_embeddings()
    emb = model.embedding.embeddings
    side_mean = np.mean([tf.gather(emb[t], side[cold, j]).numpy()
                         for j, t in enumerate(["cat_id", "brand_id", "shop_id"])], axis=0)
    np.testing.assert_allclose(vectors[cold], side_mean, atol=1e-6)
    # Each cold vector's nearest warm items mostly share its category.
    warm = np.arange(41, model.num_items)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    sims = unit(vectors[cold]) @ unit(warm_vectors[warm]).T
    nearest = warm[np.argsort(-sims, axis=1)[:, :10]]
    agreement = (cats[nearest] == cats[cold][:, None]).mean()
    assert agreement >= 0.5, agreement


def test_training_without_prepare_is_a_clear_error(small_world):
    cfg, schema, data_dir = _setup("item2vec", small_world)
    model = registry.build_model(cfg, schema)
    batch = next(iter(make_dataset(schema, os.path.join(data_dir, "test-*.tfrecord"), 4,
                                   training=False)))
    with pytest.raises(RuntimeError, match="prepare"):
        model.task_loss(batch, training=True)


def test_bad_configs_name_the_key(small_world):
    cfg, schema, _ = _setup("deepwalk", small_world, sequence="user_id")
    with pytest.raises(ConfigError, match="model.sequence"):
        registry.build_model(cfg, schema)
    cfg, schema, _ = _setup("eges", small_world, side_features=["short_cat_id"])
    with pytest.raises(ConfigError, match="model.side_features"):
        registry.build_model(cfg, schema)
    with pytest.raises(ConfigError, match="model.q"):
        config.resolve("node2vec", params_override="model.q=0")
    with pytest.raises(ConfigError, match="model.walk_length"):
        config.resolve("eges", params_override="model.walk_length=1")


def test_item2vec_pairs_are_every_pair_within_the_window_once_per_direction():
    # One user's stream 5, 6, 7, 8 as examples (history before each target).
    sequence = np.array([[0, 0, 0], [5, 0, 0], [5, 6, 0], [5, 6, 7]])
    lengths, targets = np.array([0, 1, 2, 3]), np.array([5, 6, 7, 8])
    centers, contexts = skipgram.sequence_pairs(sequence, lengths, targets, window=2)
    pairs = sorted(zip(centers.tolist(), contexts.tolist()))
    expected = sorted([(5, 6), (6, 5), (5, 7), (7, 5), (6, 7), (7, 6), (6, 8), (8, 6),
                       (7, 8), (8, 7)])
    assert pairs == expected


@pytest.mark.parametrize("name", ["eges"])  # side-information vectors: the most dtype work
def test_trains_under_mixed_bfloat16(name, small_world):
    previous = tf.keras.mixed_precision.global_policy()
    tf.keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model, data_dir = _train(name, small_world, steps=20)
        assert all(v.dtype in (tf.float32, tf.int64) for v in model.variables)
        cfg, schema, _ = _setup(name, small_world)
        features, _ = next(iter(make_dataset(schema, os.path.join(data_dir, "test-*.tfrecord"),
                                             8, training=False)))
        outputs = model.serving_outputs(features)
        assert outputs["scores"].dtype == tf.float32
        assert np.isfinite(outputs["scores"].numpy()).all()
        assert np.isfinite(model.evaluate(
            make_dataset(schema, os.path.join(data_dir, "test-*.tfrecord"), 64,
                         training=False), steps=2, verbose=0))
    finally:
        tf.keras.mixed_precision.set_global_policy(previous)


def test_eges_catalog_fills_side_information_and_names_missing_columns(small_world, tmp_path):
    cfg, schema, _ = _setup("eges", small_world)
    model = registry.build_model(cfg, schema)
    path = tmp_path / "items.csv"
    path.write_text("item_id,shop_id,cat_id,brand_id\n7,3,2,11\n9,1,5,40\n")
    table = model._read_catalog(str(path), np.zeros([model.num_items, 3], np.int64))
    assert table[7].tolist() == [2, 11, 3] and table[9].tolist() == [5, 40, 1]
    assert not table[8].any()
    path.write_text("item_id,cat_id\n7,2\n")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['brand_id', 'shop_id'\]"):
        model._read_catalog(str(path), np.zeros([model.num_items, 3], np.int64))
