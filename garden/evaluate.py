"""Evaluates a trained model on its held-out split.

    python -m garden.evaluate --model_dir=DIR

Ranking: AUC, log loss, GAUC (per-user AUC weighted by impressions), the AUC of a
popularity-only score (the item's smoothed click rate in training) and, when the data knows
the true click probability (synthetic), the oracle AUC and the share of the
popularity-to-oracle gap the model closes; multi-task models get these for every task
(`click_auc`, `conversion_auc`, ...; the oracle of each task is set by task.oracle_labels)
and the main task's under the plain keys. Retrieval: HR@K, Recall@K, NDCG@K and MRR over the
full item corpus, and tail Recall@K (targets outside the 20% most popular items in training;
garden.metrics.tail_recall), beside the same metrics for recommending the most popular items.
"""
import json
import os
import sys

import numpy as np
from absl import app, flags, logging

import garden  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import tensorflow as tf  # noqa: E402

from garden import config as config_lib  # noqa: E402
from garden import data, distribute, metrics, registry  # noqa: E402
from garden.tasks import multitask as multitask_lib  # noqa: E402
from input.integrity import vetted_records  # noqa: E402
from input.reader import make_dataset, parse_batch, list_files  # noqa: E402
from input.specs import Schema  # noqa: E402


def evaluate(model, schema, cfg, data_dir):
    """Metrics of `model` on the eval split: a flat dict of floats."""
    pattern = os.path.join(data_dir, cfg.data.eval_pattern)
    dataset = make_dataset(schema, pattern, cfg.eval.batch_size, training=False)
    train_pattern = os.path.join(data_dir, cfg.data.train_pattern)
    if model.task == "ranking":
        return _evaluate_ranking(model, schema, cfg.task, dataset, train_pattern)
    return _evaluate_retrieval(model, schema, cfg, dataset, train_pattern)


def _evaluate_ranking(model, schema, task, dataset, train_pattern):
    """Single-task: the metrics of task.label. Multi-task models (model.multitask): the main
    task's metrics under the same keys, and every task's under `<label>_<metric>`."""
    multitask = getattr(model, "multitask", False)
    if multitask:
        labels, oracles = model.labels, multitask_lib.oracle_labels(task)
        predict = tf.function(model.task_probabilities, autograph=False)
        targets_of = model.task_targets
    else:
        labels, oracles = [task.label], [task.oracle_label]
        predict = tf.function(lambda f: {task.label: model.predict_proba(f)},
                              autograph=False)
        targets_of = lambda batch_labels: {task.label: batch_labels[task.label]}  # noqa: E731
    oracles = {label: _oracle_parts(schema, name) for label, name in zip(labels, oracles)}
    probs, targets, oracle_values = ({label: [] for label in labels} for _ in range(3))
    groups, items = [], []
    for features, batch_labels in dataset:
        batch_probs, batch_targets = predict(features), targets_of(batch_labels)
        for label in labels:
            probs[label].append(batch_probs[label].numpy())
            targets[label].append(np.asarray(batch_targets[label]))
            if oracles[label]:
                oracle_values[label].append(np.prod([batch_labels[n].numpy()
                                                     for n in oracles[label]], axis=0))
        groups.append(features[task.group].numpy() if task.group in features
                      else np.zeros(len(probs[labels[0]][-1])))
        items.append(features[task.item].numpy())
    groups, items = np.concatenate(groups), np.concatenate(items)
    per_task = {}
    for label in labels:
        counts, positives = item_counts(schema, train_pattern, task.item, label)
        per_task[label] = _binary_metrics(
            np.concatenate(targets[label]), np.concatenate(probs[label]), groups, items,
            counts, positives, np.concatenate(oracle_values[label]) if oracles[label] else None)
    out = {"examples": int(len(items)), **per_task[labels[0]]}
    if multitask:
        for label in labels:
            out.update({f"{label}_{k}": v for k, v in per_task[label].items()})
    return out


def _oracle_parts(schema, name):
    """The label features whose product is the oracle `name` ("a" or "a*b"); [] when it is
    empty or the schema lacks one of them (real data knows no true probability)."""
    parts = [p.strip() for p in name.split("*")] if name else []
    return parts if parts and all(p in schema for p in parts) else []


def _binary_metrics(labels, probs, groups, items, counts, positives, oracle=None):
    out = {"label_rate": float(labels.mean()),
           "auc": metrics.auc(labels, probs), "logloss": metrics.logloss(labels, probs),
           "gauc": metrics.gauc(labels, probs, groups)}
    prior = positives.sum() / max(counts.sum(), 1)
    item_rate = (positives + 10 * prior) / (counts + 10)  # shrunk toward the mean for rare items
    out["popularity_auc"] = metrics.auc(labels, item_rate[items])
    if oracle is not None:
        out["oracle_auc"] = metrics.auc(labels, oracle)
        out["oracle_logloss"] = metrics.logloss(labels, oracle)
        gap = out["oracle_auc"] - out["popularity_auc"]
        out["gap_closed"] = (out["auc"] - out["popularity_auc"]) / gap if gap > 0 else 0.0
    return out


def _evaluate_retrieval(model, schema, cfg, dataset, train_pattern):
    item = cfg.task.item

    @tf.function(autograph=False)
    def target_ranks(features):
        scores = model.scores(features)
        target = tf.gather(scores, features[item], batch_dims=1)
        return 1 + tf.reduce_sum(tf.cast(scores > target[:, None], tf.int32), axis=1)

    ranks, targets, groups = [], [], []
    for features, _ in dataset:
        ranks.append(target_ranks(features).numpy())
        targets.append(features[item].numpy())
        groups.append(features[cfg.task.group].numpy() if cfg.task.group in features
                      else np.arange(len(ranks[-1])))
    ranks, targets, groups = map(np.concatenate, (ranks, targets, groups))
    out = {"examples": int(len(ranks))}
    out.update(metrics.retrieval_metrics(ranks, groups, cfg.eval.top_k))
    counts, _ = item_counts(schema, train_pattern, item)
    popularity = metrics.popularity_ranks(counts, targets)
    out.update(metrics.retrieval_metrics(popularity, groups, cfg.eval.top_k,
                                         prefix="popularity_"))
    out.update(metrics.tail_recall(ranks, groups, targets, counts, cfg.eval.top_k))
    out.update({k: v for k, v in metrics.tail_recall(popularity, groups, targets, counts,
                                                     cfg.eval.top_k, prefix="popularity_")
                .items() if k != "popularity_tail_share"})
    return out


def item_counts(schema, pattern, item, label=None):
    """Per item id: training examples, and the sum of `label` over them (one pass, parsing
    only those features)."""
    vocab = schema.vocab_size(item)
    names = [item] + ([label] if label else [])
    counts, sums = np.zeros(vocab), np.zeros(vocab)
    ds = vetted_records(list_files(pattern)).batch(8192)
    ds = ds.map(lambda s: parse_batch(schema, s, names=names), tf.data.AUTOTUNE)
    for features, labels in ds.prefetch(2):
        ids = features[item].numpy()
        counts += np.bincount(ids, minlength=vocab)
        if label:
            sums += np.bincount(ids, weights=labels[label].numpy(), minlength=vocab)
    return counts, sums


def load_trained(model_dir, log=print):
    """(config, schema, data_dir, model) of a training run, weights restored from its latest
    checkpoint into a float32 model.

    Variables are float32 under mixed precision too, so a bfloat16-trained model restores
    exactly; it is evaluated and exported in float32 because bfloat16 results depend on which
    kernels a graph happens to fuse (differences of ~3e-4 between two graphs of the same
    model), which would make "the export scores like the trained model" untestable.
    """
    path = os.path.join(model_dir, "config.yaml")
    if not os.path.exists(path):
        raise FileNotFoundError(f"--model_dir={model_dir}: no config.yaml (not a training run)")
    cfg = config_lib.load(path)
    distribute.set_precision("float32")
    task = registry.get_model(cfg.model_name).task
    data_dir = data.task_data_dir(cfg.data, task, log)
    schema = Schema.load(data_dir)
    model = registry.build_model(cfg, schema)
    checkpoint = tf.train.Checkpoint(model=model)
    latest = tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
    if latest is None:
        raise FileNotFoundError(f"--model_dir={model_dir}: no checkpoint to restore")
    features = build_with_batch(model, schema, os.path.join(data_dir, cfg.data.eval_pattern))
    if model.task == "retrieval":  # the item side too (a two-tower item tower), not first
        model.scores(features)  # inside an export's tf.function, which cannot track it
    checkpoint.restore(latest).expect_partial().assert_existing_objects_matched()
    return cfg, schema, data_dir, model


def build_with_batch(model, schema, pattern):
    """Creates the model's variables by calling it on one small batch of real data; returns
    that batch's features."""
    features, _ = next(iter(make_dataset(schema, pattern, 2, training=False)))
    model(features, training=False)
    return features


def format_metrics(values):
    return "\n".join(f"  {k:<24} {v:.4f}" if isinstance(v, float) else f"  {k:<24} {v}"
                     for k, v in values.items())


FLAGS = flags.FLAGS

def main(argv):
    del argv
    if not FLAGS["verbosity"].present:  # TensorFlow's INFO lines are noise here
        logging.set_verbosity(logging.WARNING)
    if not FLAGS.model_dir:
        sys.exit("--model_dir is required")
    cfg, schema, data_dir, model = load_trained(FLAGS.model_dir)
    values = evaluate(model, schema, cfg, data_dir)
    if FLAGS.base_auc:
        from garden import base_model
        values.update(base_model.base_auc(cfg, schema, data_dir, values.get("auc")))
    print(f"Evaluation of {cfg.model_name} on {os.path.join(data_dir, cfg.data.eval_pattern)}")
    print(format_metrics(values))
    if FLAGS.calibrate:
        from garden import calibration
        try:
            report = calibration.calibrate(model, schema, cfg, data_dir, FLAGS.calibrate,
                                           FLAGS.model_dir)
        except ValueError as e:
            sys.exit(f"error: {e}")
        print(calibration.format_report(report))
        print(f"Saved {os.path.join(FLAGS.model_dir, calibration.FILE)}: the next "
              "garden.export bakes it into the SavedModel")
        values["calibration"] = report
    print(json.dumps(values))


def define_flags():
    """Command-line flags, defined only when this module is the program."""
    flags.DEFINE_string("model_dir", None, "Folder of a training run (has config.yaml).")
    flags.DEFINE_enum("calibrate", None, ["platt", "isotonic"], "Ranking: fit a calibrator on "
                      "half of the eval split, report before/after on the other half, save it "
                      "for garden.export.")
    flags.DEFINE_bool("base_auc", False, "Ranking: also train the model on user and context "
                      "features only and report its AUC (a second training run).")


def run():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
