"""Multi-task ranking: task config, losses and their weights, ESMM's CTCVR, per-task
evaluation and serving outputs (tiny world; the learning test is tests/models/models_test.py)."""
import os

import numpy as np
import pytest
import tensorflow as tf

from garden import config, metrics, registry, train
from garden.models.esmm import ctcvr_logit
from input.reader import make_dataset
from input.specs import Schema

TINY = ("model.embedding_dim=4,model.tower_units=[8],train.batch_size=128,"
        "train.steps_per_execution=5,train.log_every_steps=5")


def build(name, world, overrides=""):
    data_dir = os.path.join(world, "ranking")
    cfg = config.resolve(name, params_override=overrides,
                         overrides={"data.data_dir": data_dir})
    schema = Schema.load(data_dir)
    model = registry.build_model(cfg, schema)
    batch = next(iter(make_dataset(schema, os.path.join(data_dir, "train-*"), 64,
                                   training=False)))
    return model, batch


def test_task_config_errors_name_the_key():
    with pytest.raises(config.ConfigError, match="task.loss_weights needs one entry"):
        config.resolve("mmoe", params_override="task.loss_weights=[1.0]")
    with pytest.raises(config.ConfigError, match="task.oracle_labels needs one entry"):
        config.resolve("mmoe", params_override="task.oracle_labels=[true_ctr]")
    with pytest.raises(config.ConfigError, match="task.labels must not repeat"):
        config.resolve("mmoe", params_override="task.labels=[click, click],"
                                               "task.loss_weights=[],task.oracle_labels=[]")
    with pytest.raises(config.ConfigError, match="task.loss_weights must be >= 0"):
        config.resolve("mmoe", params_override="task.loss_weights=[1.0, -1.0]")


def test_models_reject_labels_they_cannot_use(tiny_world):
    with pytest.raises(config.ConfigError, match="'price' is not a label feature"):
        build("mmoe", tiny_world, "task.labels=[click, price],task.loss_weights=[],"
                                  "task.oracle_labels=[]")
    with pytest.raises(config.ConfigError, match="esmm needs task.labels"):
        build("esmm", tiny_world, "task.labels=[click],task.loss_weights=[],"
                                  "task.oracle_labels=[]")
    with pytest.raises(config.ConfigError, match="task.labels is for multi-task models"):
        build("deepfm", tiny_world, "task.labels=[click, conversion]")


def test_ctcvr_logit_is_the_logit_of_the_product_and_stays_finite():
    a = tf.constant([0.3, -2.0, 4.0, -60.0, 80.0])
    b = tf.constant([-1.0, 0.5, 3.0, -70.0, -90.0])
    logit = ctcvr_logit(a, b)
    product = tf.sigmoid(a) * tf.sigmoid(b)
    np.testing.assert_allclose(tf.sigmoid(logit)[:3], product[:3], rtol=1e-6)
    # Far in the tails the logit of the product tends to a + b (both very negative) or to
    # the smaller one (the other very positive), where the product itself underflows.
    np.testing.assert_allclose(logit[3], -130.0, rtol=1e-5)
    np.testing.assert_allclose(logit[4], -90.0, rtol=1e-5)
    loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones(5), logits=logit)
    assert np.all(np.isfinite(loss.numpy()))


@pytest.mark.parametrize("name", ["mmoe", "ple", "esmm"])
def test_a_zero_loss_weight_leaves_that_tasks_tower_untrained(name, tiny_world):
    model, batch = build(name, tiny_world, TINY + ",task.loss_weights=[1.0, 0.0]")
    with tf.GradientTape() as tape:
        loss = model.task_loss(batch, training=True)
    tower = model.towers[1].trainable_variables + model.logit_layers[1].trainable_variables
    main = model.towers[0].trainable_variables
    grads = tape.gradient(loss, tower + main)
    for g in grads[:len(tower)]:
        assert g is None or not np.any(g.numpy()), "conversion tower got a gradient"
    assert any(g is not None and np.any(g.numpy()) for g in grads[len(tower):])


@pytest.mark.parametrize("name", ["mmoe", "esmm"])
def test_total_loss_is_the_weighted_sum_of_task_losses(name, tiny_world):
    model, batch = build(name, tiny_world, TINY + ",task.loss_weights=[0.5, 2.0]")
    features, labels = batch
    total = model.task_loss(batch, training=False)
    logits = model(features, training=False)
    targets = model.task_targets(labels)
    expected = sum(w * tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=targets[t], logits=logits[t])) for t, w in zip(model.labels, (0.5, 2.0)))
    np.testing.assert_allclose(total.numpy(), expected.numpy(), rtol=1e-5)


def test_esmm_conversion_target_is_click_times_conversion(tiny_world):
    model, _ = build("esmm", tiny_world, TINY)
    targets = model.task_targets({"click": tf.constant([1.0, 0.0, 1.0, 0.0]),
                                  "conversion": tf.constant([1.0, 1.0, 0.0, 0.0])})
    np.testing.assert_array_equal(targets["conversion"], [1.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(targets["click"], [1.0, 0.0, 1.0, 0.0])


@pytest.mark.parametrize("name", ["mmoe", "ple"])
def test_serving_outputs_one_probability_per_task(name, tiny_world):
    model, (features, _) = build(name, tiny_world, TINY)
    outputs = model.serving_outputs(features)
    assert sorted(outputs) == ["click_probability", "conversion_probability"]
    np.testing.assert_allclose(outputs["click_probability"], model.predict_proba(features))


def test_per_task_evaluation_and_esmm_serving_outputs(tiny_world, tmp_path):
    name, outputs = "esmm", ["ctcvr", "ctr", "cvr"]
    cfg = config.resolve(name, params_override=TINY,
                         overrides={"data.data_dir": os.path.join(tiny_world, "ranking")})
    result = train.train(cfg, str(tmp_path / name), log=lambda *a: None)
    values = result["eval"]
    assert result["export"]["outputs"] == outputs
    assert result["export"]["max_abs_diff"] <= 1e-5
    for task in ("click", "conversion"):
        for key in ("auc", "logloss", "gauc", "popularity_auc", "oracle_auc", "gap_closed"):
            assert f"{task}_{key}" in values, (task, key, values)
    for key in ("auc", "popularity_auc", "oracle_auc", "logloss"):  # the main task, unprefixed
        assert values[key] == values[f"click_{key}"]
    # The oracles, recomputed from the test records.
    schema = Schema.load(os.path.join(tiny_world, "ranking"))
    labels = {k: [] for k in ("click", "conversion", "true_ctr", "true_cvr")}
    for _, batch in make_dataset(schema, os.path.join(tiny_world, "ranking", "test-*"), 1000,
                                 training=False):
        for k in labels:
            labels[k].append(batch[k].numpy())
    labels = {k: np.concatenate(v) for k, v in labels.items()}
    assert values["click_oracle_auc"] == pytest.approx(
        metrics.auc(labels["click"], labels["true_ctr"]))
    assert values["conversion_oracle_auc"] == pytest.approx(
        metrics.auc(labels["conversion"], labels["true_ctr"] * labels["true_cvr"]))
    assert values["conversion_label_rate"] == pytest.approx(labels["conversion"].mean())


def test_esmm_serves_ctr_cvr_and_their_product(tiny_world):
    model, (features, _) = build("esmm", tiny_world, TINY)
    out = model.serving_outputs(features)
    np.testing.assert_allclose(out["ctcvr"], out["ctr"] * out["cvr"], rtol=1e-6)
    np.testing.assert_allclose(out["ctcvr"], model.task_probabilities(features)["conversion"],
                               rtol=1e-5)
    np.testing.assert_allclose(out["ctr"], model.predict_proba(features), rtol=1e-6)


@pytest.mark.parametrize("name", ["mmoe", "ple", "esmm"])
def test_mixed_bfloat16_losses_are_finite_and_outputs_float32(name, tiny_world):
    previous = tf.keras.mixed_precision.global_policy()
    tf.keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model, batch = build(name, tiny_world, TINY)
        loss = model.task_loss(batch, training=True)
        outputs = model.serving_outputs(batch[0])
    finally:
        tf.keras.mixed_precision.set_global_policy(previous)
    assert np.isfinite(loss.numpy())
    for value in outputs.values():
        assert value.dtype == tf.float32
        assert np.all((value.numpy() >= 0) & (value.numpy() <= 1))
