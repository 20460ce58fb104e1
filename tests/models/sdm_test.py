"""SDM's session LSTM runs on the tables' side (garden.models.sdm.SDM._session_lstm): the same
queries and gradients as the plain path (a Keras LSTM, masked, over the concatenated item
embeddings), and padded session positions change nothing."""
import os

import numpy as np
import pytest
import tensorflow as tf

from garden import config, registry
from garden.models import features as F
from input.reader import make_dataset
from input.specs import Schema
from layers import table_lookup
from tests.layers import contract


class PlainSDM:
    """The session LSTM as SDM computed it before: gather, concatenate, masked Keras LSTM."""

    @staticmethod
    def session_lstm(model, features):
        items = tf.concat([table_lookup.gather(model._table(s), features[s])
                           for s in model.short], axis=-1)
        return model.lstm(tf.cast(items, model.compute_dtype),
                          mask=F.sequence_mask(features, model.short[0]))


@pytest.fixture(scope="module")
def world(tiny_world):
    folder = os.path.join(tiny_world, "retrieval")
    schema = Schema.load(folder)
    cfg = config.resolve("sdm", overrides={"data.data_dir": folder, "model.embedding_dim": 8})
    features, _ = next(iter(make_dataset(schema, os.path.join(folder, "train-*"), 64,
                                         training=False)))
    return cfg, schema, features


def _weights(model):
    """The model's weights, the LSTM's last (assigning plain.lstm moved it in the order)."""
    lstm = model.lstm.cell.weights
    return [w for w in model.weights if not any(w is v for v in lstm)] + lstm


def _models(cfg, schema, features):
    tf.keras.utils.set_random_seed(3)
    fast = registry.build_model(cfg, schema)
    plain = registry.build_model(cfg, schema)
    plain.lstm = tf.keras.layers.LSTM(cfg.model.embedding_dim, return_sequences=True,
                                      name="session_lstm")
    plain._session_lstm = lambda f: PlainSDM.session_lstm(plain, f)
    fast.scores(features)  # builds the head too
    plain.scores(features)
    pairs = list(zip(_weights(fast), _weights(plain)))
    assert len(pairs) == len(fast.weights) == len(plain.weights)
    # Random values, biases too (the forget gate's starts at 1, the others at 0).
    rng = np.random.default_rng(0)
    for ours, theirs in pairs:
        assert ours.shape == theirs.shape, (ours.name, theirs.name)
        value = ours.numpy() + rng.normal(0, 0.1, ours.shape).astype(np.float32)
        ours.assign(value)
        theirs.assign(value)
    return fast, plain


def test_same_queries_and_gradients_as_plain_lstm(world):
    cfg, schema, features = world
    fast, plain = _models(cfg, schema, features)
    results = []
    for model in (fast, plain):
        with tf.GradientTape() as tape:
            query = model(features)
            loss = tf.reduce_mean(model.head.loss(query, features[model.target]))
        trainable = [w for w in _weights(model) if w.trainable]
        results.append([("query", query)] + list(zip(
            [w.name for w in trainable], tape.gradient(loss, trainable))))
    assert len(results[0]) == len(results[1]) > 10
    for (name, ours), (_, theirs) in zip(*results):
        np.testing.assert_allclose(tf.convert_to_tensor(ours), tf.convert_to_tensor(theirs),
                                   atol=1e-5, rtol=1e-4, err_msg=name)


def test_padded_session_positions_change_nothing(world):
    cfg, schema, features = world
    fast, _ = _models(cfg, schema, features)
    mask = F.sequence_mask(features, fast.short[0]).numpy()
    assert not mask.all() and mask.any()
    filled = dict(features)
    for s in fast.short:
        filled[s] = tf.constant(contract.fill_padding(features[s].numpy(), mask, seed=1,
                                                      high=schema.vocab_size(s)),
                                features[s].dtype)
    np.testing.assert_allclose(fast(filled), fast(features), atol=1e-6)


def test_checkpoint_of_the_keras_lstm_layout_loads(world, tmp_path):
    cfg, schema, features = world
    fast, plain = _models(cfg, schema, features)
    for ours in fast.lstm.cell.weights:
        ours.assign(tf.zeros_like(ours))
    path = tf.train.Checkpoint(model=plain).save(str(tmp_path / "ckpt"))
    tf.train.Checkpoint(model=fast).restore(path).assert_existing_objects_matched()
    np.testing.assert_allclose(fast(features), plain(features), atol=1e-5)
