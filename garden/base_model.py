"""The "base AUC": the same ranking model trained on user and context features only.

    python -m garden.evaluate --model_dir=DIR --base_auc     (or eval.base_auc: true)

Every input feature outside the schema's "user" and "context" groups (the item's id and side
information, item-side dense values, ungrouped crosses) is blanked in training and evaluation:
ids become 0, the padding/OOV row, dense values and sequence lengths 0. The model is otherwise
the same (architecture, config, seed, epochs), so the gap between its AUC and the full model's
is what the item and cross features add. It costs a second training run.
"""
import os
import time

import numpy as np
import tensorflow as tf

from garden import metrics, optimizers, registry
from input.reader import count_records, make_dataset

BASE_GROUPS = ("user", "context")


def base_features(schema):
    return sorted(s.name for s in schema.of_kind("sparse", "dense", "sequence")
                  if s.group in BASE_GROUPS)


def blank_non_base(schema, features):
    """A copy of `features` with every non-user, non-context input set to zeros."""
    keep = set(base_features(schema))
    keep |= {f"{n}_len" for n in keep}
    return {k: v if k in keep else tf.zeros_like(v) for k, v in features.items()}


def base_auc(cfg, schema, data_dir, full_auc=None, log=print):
    """{"base_auc", "base_features", "item_feature_auc_gain"} of a fresh model of cfg trained
    on user and context features only (single device, float32)."""
    if registry.get_model(cfg.model_name).task != "ranking":
        raise ValueError(f"base AUC applies to ranking models; {cfg.model_name} is retrieval")
    if not base_features(schema):
        raise ValueError("base AUC: the schema has no feature in the groups "
                         f"{BASE_GROUPS} (set FeatureSpec.group)")
    start = time.time()
    tf.keras.utils.set_random_seed(cfg.train.seed)
    train_pattern = os.path.join(data_dir, cfg.data.train_pattern)
    eval_pattern = os.path.join(data_dir, cfg.data.eval_pattern)

    def blank(features, labels):
        return blank_non_base(schema, features), labels

    train = make_dataset(schema, train_pattern, cfg.train.batch_size, training=True,
                         shuffle_buffer=cfg.data.shuffle_buffer, seed=cfg.train.seed,
                         repeat=True).map(blank)
    steps = -(-count_records(train_pattern) // cfg.train.batch_size)
    model = registry.build_model(cfg, schema)
    model.prepare(train_pattern)
    model.compile(optimizer=optimizers.make(cfg.train.optimizer, cfg.train.learning_rate),
                  steps_per_execution=cfg.train.steps_per_execution)
    model.fit(train, epochs=cfg.train.epochs, steps_per_epoch=steps, verbose=0)
    predict = tf.function(lambda f: model.predict_proba(blank_non_base(schema, f)),
                          autograph=False)
    probs, labels = [], []
    for features, batch_labels in make_dataset(schema, eval_pattern, cfg.eval.batch_size,
                                               training=False):
        probs.append(predict(features).numpy())
        labels.append(batch_labels[cfg.task.label].numpy())
    value = metrics.auc(np.concatenate(labels), np.concatenate(probs))
    out = {"base_auc": value}
    if full_auc is not None:
        out["item_feature_auc_gain"] = full_auc - value
    log(f"Base AUC (user and context features only: {', '.join(base_features(schema))}) "
        f"{value:.4f} in {time.time() - start:.0f}s")
    return out
