"""The pieces the behaviour-sequence models (din, dien, dsin, bst) share or add."""
import numpy as np
import pytest
import tensorflow as tf

from garden import registry
from garden.config import ConfigError, TaskConfig
from garden.models import features as F
from garden.models.dien import DIEN
from input import synthetic
from input.specs import Schema

SEQUENCE_MODELS = ("bst", "dien", "din", "dsin")


def _schema():
    return synthetic.ranking_schema(synthetic.WorldConfig.for_size(3000, seed=1))


def _batch(schema, batch=4, length=50, seed=0):
    """Random valid features of the ranking schema (lengths 0 .. length)."""
    rng = np.random.default_rng(seed)
    lengths = np.array([0, 1, 7, length])[:batch]
    features = {}
    for spec in schema:
        if spec.kind == "sparse":
            features[spec.name] = rng.integers(1, schema.vocab_size(spec.name), batch)
        elif spec.kind == "dense":
            features[spec.name] = rng.normal(size=(batch, 1)).astype(np.float32)
    valid = np.arange(length)[None, :] < lengths[:, None]
    for name in ("hist_item_id", "hist_cat_id", "hist_brand_id"):
        ids = rng.integers(1, schema.vocab_size(name), (batch, length))
        features[name] = np.where(valid, ids, 0)
        features[f"{name}_len"] = lengths.astype(np.int32)
    # Sessions of 3 events, counted back from the latest.
    session = (lengths[:, None] - 1 - np.arange(length)[None, :]) // 3 + 1
    features["hist_session_id"] = np.where(valid, session, 0)
    features["hist_session_id_len"] = lengths.astype(np.int32)
    return {k: tf.constant(v) for k, v in features.items()}


def test_recent_events_oldest_and_newest_first():
    features = {"s": tf.constant([[1, 2, 3, 4, 0], [5, 0, 0, 0, 0], [0] * 5]),
                "s_len": tf.constant([4, 1, 0])}
    out, mask = F.recent_events(features, ["s"], 3)
    np.testing.assert_array_equal(out["s"], [[2, 3, 4], [5, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(mask, [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    out, _ = F.recent_events(features, ["s"], 3, newest_first=True)
    np.testing.assert_array_equal(out["s"], [[4, 3, 2], [5, 0, 0], [0, 0, 0]])


@pytest.mark.parametrize("name,overrides", [(n, {}) for n in SEQUENCE_MODELS]
                         + [("bst", {"output": "flatten"})])
def test_padding_and_old_history_never_matter(name, overrides):
    """Scores ignore padded positions and events older than hist_len; empty rows are finite."""
    schema = _schema()
    entry = registry.get_model(name)
    model = entry.build(schema, TaskConfig(), entry.config(hist_len=10, max_sessions=3,
                                                           session_len=4)
                        if name == "dsin" else entry.config(hist_len=10, **overrides))
    features = _batch(schema)
    clean = model(features, training=False).numpy()
    noisy = dict(features)
    rng = np.random.default_rng(1)
    lengths = features["hist_item_id_len"].numpy()
    old_or_pad = ((np.arange(50)[None, :] >= lengths[:, None])
                  | (np.arange(50)[None, :] < lengths[:, None] - 10))
    for seq in ("hist_item_id", "hist_cat_id", "hist_brand_id"):
        noise = rng.integers(1, schema.vocab_size(seq), (4, 50))
        noisy[seq] = tf.constant(np.where(old_or_pad, noise, features[seq].numpy()))
    np.testing.assert_allclose(model(noisy, training=False).numpy(), clean, atol=1e-5)
    assert np.all(np.isfinite(clean))


def test_dien_adds_the_auxiliary_loss_in_training_only():
    schema = _schema()
    model = DIEN(schema, TaskConfig(), registry.get_model("dien").config(hist_len=10))
    features = _batch(schema)
    model(features, training=False)
    inference_losses = len(model.losses)
    model(features, training=True)
    assert len(model.losses) == inference_losses + 1
    assert float(model.aux_tracker.result()) > 0


def test_dien_auxiliary_loss_golden_value():
    # All behaviours are the same item, so every sampled negative is an accidental hit and is
    # dropped: the loss is the mean of -log sigmoid(<h_t, e_{t+1}>) over the valid pairs.
    keys = tf.constant([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [9.0, 9.0]]])
    hidden = tf.constant([[[1.0, 2.0], [0.5, 0.5], [3.0, 3.0], [7.0, 7.0]]])
    mask = tf.constant([[True, True, True, False]])
    ids = tf.constant([[5, 5, 5, 0]])
    pos = np.array([2.0, 1.0])  # <h_0, e_1>, <h_1, e_2>; the pair (2, 3) is padding
    expected = np.mean(np.log1p(np.exp(-pos)))
    np.testing.assert_allclose(DIEN.auxiliary_loss(hidden, keys, mask, ids), expected,
                               rtol=1e-6)
    empty = DIEN.auxiliary_loss(hidden, keys, tf.zeros_like(mask), ids)
    assert float(empty) == 0.0


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="model.hist_len"):
        registry.get_model("din").config(hist_len=0)
    with pytest.raises(ConfigError, match="model.num_heads"):
        registry.get_model("bst").config(num_heads=5)
    with pytest.raises(ConfigError, match="model.output"):
        registry.get_model("bst").config(output="mean")
    with pytest.raises(ConfigError, match="model.aux_weight"):
        registry.get_model("dien").config(aux_weight=-1)


def test_dsin_needs_a_session_feature():
    schema = Schema([s for s in _schema() if s.name != "hist_session_id"])
    entry = registry.get_model("dsin")
    with pytest.raises(ValueError, match="hist_session_id"):
        entry.build(schema, TaskConfig(), entry.config())


def test_behaviours_must_share_a_candidate_table():
    schema = _schema()
    entry = registry.get_model("din")
    with pytest.raises(ValueError, match="'hist_session_id' must share"):
        entry.build(schema, TaskConfig(), entry.config(behaviours=["hist_session_id"]))
