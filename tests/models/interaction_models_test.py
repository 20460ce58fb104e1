"""xDeepFM, FiBiNET and AutoInt: config checks, variants and mixed_bfloat16 training steps.

Learning, export and reload of their default experiments are in models_test.py; these are the
quick checks of the options those runs do not exercise.
"""
import os

import numpy as np
import pytest
import tensorflow as tf

from garden import config, optimizers, registry
from garden.config import ConfigError
from input.reader import make_dataset
from input.specs import Schema

MODELS = ("autoint", "fibinet", "xdeepfm")


def _batch(tiny_world, size=64):
    data_dir = os.path.join(tiny_world, "ranking")
    schema = Schema.load(data_dir)
    batch = next(iter(make_dataset(schema, os.path.join(data_dir, "train-*"), size, False)))
    return schema, batch


def _build(name, schema, override=""):
    cfg = config.resolve(name, params_override=override)
    return registry.build_model(cfg, schema)


@pytest.mark.parametrize("name,override,message", [
    ("xdeepfm", "model.cin_layer_sizes=[3,2]", "model.cin_layer_sizes"),
    ("xdeepfm", "model.cin_layer_sizes=[]", "model.cin_layer_sizes"),
    ("xdeepfm", "model.cin_activation=relux", "model.cin_activation"),
    ("fibinet", "model.bilinear_type=field_all", "model.bilinear_type"),
    ("fibinet", "model.hidden_units=[]", "model.hidden_units"),
    ("fibinet", "model.reduction_ratio=0", "model.reduction_ratio"),
    ("autoint", "model.num_heads=0", "model.num_heads"),
    ("autoint", "model.dropout=1.0", "model.dropout"),
])
def test_bad_config_names_the_key(name, override, message):
    with pytest.raises(ConfigError, match=message):
        config.resolve(name, params_override=override)


@pytest.mark.parametrize("name", MODELS)
def test_needs_two_fields(name, tiny_world):
    schema, _ = _batch(tiny_world)
    with pytest.raises(ValueError, match="at least two id features"):
        _build(name, schema, "model.features=[item_id,price]")


@pytest.mark.parametrize("name,override", [
    ("xdeepfm", "model.cin_split_half=false,model.cin_layer_sizes=[5,3],model.hidden_units=[]"),
    ("xdeepfm", "model.cin_activation=relu,model.use_sequences=true"),
    ("fibinet", "model.bilinear_type=all,model.use_sequences=true"),
    ("fibinet", "model.bilinear_type=each"),
    ("autoint", "model.hidden_units=[],model.use_residual=false"),
    ("autoint", "model.use_linear=true,model.use_sequences=true"),
])
def test_variants_score_every_example(name, override, tiny_world):
    schema, (features, _) = _batch(tiny_world)
    logits = _build(name, schema, override)(features)
    assert logits.shape == (64,) and logits.dtype == tf.float32
    assert np.all(np.isfinite(logits.numpy()))


@pytest.mark.parametrize("name", MODELS)
def test_mixed_bfloat16_training_steps(name, tiny_world):
    schema, batch = _batch(tiny_world)
    tf.keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = _build(name, schema, "model.use_sequences=true")
        model.compile(optimizer=optimizers.make("adam", 1e-2))
        losses = [float(model.train_on_batch(*batch, return_dict=True)["loss"])
                  for _ in range(5)]
        assert all(v.dtype == tf.float32 for v in model.variables)
        assert model(batch[0]).dtype == tf.float32
    finally:
        tf.keras.mixed_precision.set_global_policy("float32")
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0], losses
