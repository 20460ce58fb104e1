"""Every registered model trains under mixed_bfloat16: finite, falling losses, float32 tables and
optimizer state, float32 serving outputs.

precision_test.py compares bfloat16 against float32 quality for one model per family; this
file is the cheap guarantee for all the others (a few steps on one batch of the tiny world).
"""
import os

import numpy as np
import pytest
import tensorflow as tf

from garden import config, data, optimizers, registry
from input.reader import make_dataset
from input.specs import Schema


@pytest.fixture
def bfloat16_policy():
    previous = tf.keras.mixed_precision.global_policy()
    tf.keras.mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    tf.keras.mixed_precision.set_global_policy(previous)


@pytest.mark.parametrize("name", registry.list_models())
def test_trains_in_mixed_bfloat16(name, tiny_world, bfloat16_policy):
    cfg = config.resolve(name, overrides={"data.data_dir": tiny_world})
    task = registry.get_model(name).task
    data_dir = data.task_data_dir(cfg.data, task, log=lambda *a: None)
    schema = Schema.load(data_dir)
    pattern = os.path.join(data_dir, cfg.data.train_pattern)
    model = registry.build_model(cfg, schema)
    model.prepare(pattern)
    model.compile(optimizers.make(cfg.train.optimizer, 1e-2))
    batch = next(iter(make_dataset(schema, pattern, 64, training=True, seed=0)))
    losses = [float(model.train_on_batch(*batch, return_dict=True)["loss"]) for _ in range(8)]
    assert np.all(np.isfinite(losses)), losses
    # Eight steps on one batch: any model that learns fits it better (sampled heads too:
    # the fall is far larger than their sampling noise).
    assert np.mean(losses[-3:]) < np.mean(losses[:3]), losses
    # Integer state (item counts, sampler tables) is fine; no floating variable is bfloat16.
    for v in model.variables + model.optimizer.variables:
        assert v.dtype != tf.bfloat16, v.name
    for key, value in model.serving_outputs(batch[0]).items():
        assert value.dtype in (tf.float32, tf.int64, tf.int32, tf.string), (key, value.dtype)
        if value.dtype == tf.float32:
            assert np.all(np.isfinite(value.numpy())), key
