"""Embedding health of a trained model's item table, and TensorBoard projector files.

    python -m garden.check_embeddings --model_dir=DIR [--k=10 --min_knn_lift=1.5 ...]

Measured on the rows whose ids appear in the training data (row 0, padding/OOV, left out):
- knn_agreement: share of each item's k nearest neighbours (cosine) in its own category, against
  random_agreement, the rate for neighbours drawn at random (sum_c n_c (n_c - 1) / N (N - 1));
  knn_lift is their ratio. A table that learned nothing about items sits near 1.
- norm_mean / norm_cv (std / mean of row norms), norm_min / norm_max.
- mean_cosine: mean pairwise cosine similarity; near 1 means collapse to one direction.
- effective_rank: exp(entropy of the normalized singular values) of the mean-centred rows
  (Roy & Vetterli, 2007); between 1 and the embedding dim.
- never_updated: share of rows 1..V-1 still equal to their initial values (garden.train keeps
  the initial table in MODEL_DIR/embeddings/initial_tables.npz); never_seen: share of ids that
  no training example carries; seen_never_updated: share of seen rows still at their initial
  value (should be ~0: a row the data touches but the optimizer never moves means a bug).
The check fails on non-finite values, knn_lift < --min_knn_lift, mean_cosine > --max_mean_cosine,
effective_rank < --min_effective_rank, or seen_never_updated > --max_seen_never_updated.

It also saves embeddings/<table>_pca.png: the rows projected on their two first principal
components, one dot per seen item, coloured by category (garden.plot.PALETTE, cycled).
It runs at the end of garden.train (results in metrics.json under "embeddings" and as
TensorBoard scalars in the "embeddings" run); the CLI exits 1 when the check fails.

Projector: garden.train writes MODEL_DIR/embeddings/ with a checkpoint of the item table (and,
for retrieval models, query vectors of a sample of held-out examples), metadata TSVs (item:
id, category, brand, popularity bucket; user: user id and the category of the target item) and
projector_config.pbtxt, so `tensorboard --logdir=MODEL_DIR` shows them in the Projector tab
(run "embeddings"), colourable by category.
"""
import json
import os
import sys

import numpy as np
from absl import app, flags, logging

import garden  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import tensorflow as tf  # noqa: E402

from garden.embedding_quality import knn_category_agreement  # noqa: E402
from input.atomic import atomic_write_text  # noqa: E402
from input.integrity import vetted_records  # noqa: E402
from input.reader import list_files, make_dataset, parse_batch  # noqa: E402
from layers.feature_embedding import FeatureEmbedding  # noqa: E402

SUBDIR = "embeddings"
INITIAL = "initial_tables.npz"
SIDE_FEATURES = ("cat_id", "brand_id")
THRESHOLDS = {"min_knn_lift": 1.1, "max_mean_cosine": 0.9, "min_effective_rank": 2.0,
              "max_seen_never_updated": 0.05}


def item_tables(model, item):
    """{name: variable} of the item embedding tables: the FeatureEmbedding table that `item`
    looks up ("item_id"; a second such layer's as "<layer>/item_id") and a retrieval head's
    output item vectors ("item_output")."""
    tables = {}
    for layer in model.submodules:
        if not isinstance(layer, FeatureEmbedding) or not layer.built:
            continue
        # The table is named after its owner, the item feature (SDM reads it only through
        # the sequences that share it). Width 1 is a linear part's per-id weight
        # (layers.linear), not an embedding.
        if item in layer.embeddings and layer.tables[item][1] > 1:
            name = item if item not in tables else f"{layer.name}/{item}"
            tables[name] = layer.embeddings[item]
    head = getattr(model, "head", None)
    if head is not None and hasattr(head, "item_embeddings"):
        tables["item_output"] = head.item_embeddings
    return tables


def save_initial_tables(model, item, model_dir):
    """Keeps the freshly initialized item tables, for never_updated (not when resuming)."""
    path = os.path.join(model_dir, SUBDIR, INITIAL)
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp.npz"
    np.savez(tmp, **{k: v.numpy() for k, v in item_tables(model, item).items()})
    os.replace(tmp, path)


def item_metadata(schema, pattern, item, vocab):
    """Per item id: training count and each side feature (cat_id, brand_id) the data carries
    beside the item (the value seen last; 0 where the item never appears)."""
    side = [n for n in SIDE_FEATURES if n in schema and schema[n].kind == "sparse"]
    counts = np.zeros(vocab, np.int64)
    values = {n: np.zeros(vocab, np.int64) for n in side}
    ds = vetted_records(list_files(pattern)).batch(8192)
    ds = ds.map(lambda s: parse_batch(schema, s, names=[item] + side)[0], tf.data.AUTOTUNE)
    for features in ds.prefetch(2):
        ids = features[item].numpy()
        counts += np.bincount(ids, minlength=vocab)
        for n in side:
            values[n][ids] = features[n].numpy()
    return counts, values


def popularity_buckets(counts, buckets=5):
    """0 for ids never seen, else 1 (rarest fifth of the seen items) .. `buckets` (most seen)."""
    out = np.zeros(len(counts), np.int64)
    seen = np.flatnonzero(counts > 0)
    if len(seen):
        ranks = np.argsort(np.argsort(counts[seen], kind="mergesort"), kind="mergesort")
        out[seen] = 1 + ranks * buckets // len(seen)
    return out


def health(table, categories, counts, initial=None, k=10, max_rows=5000, seed=0):
    """The health numbers of one table (see the module docstring)."""
    table = np.asarray(table, np.float64)
    out = {"rows": int(len(table) - 1), "dim": int(table.shape[1]),
           "finite": bool(np.isfinite(table).all())}
    ids = np.arange(1, len(table))
    seen = ids[counts[1:] > 0]
    out["never_seen"] = float(1 - len(seen) / max(len(ids), 1))
    if initial is not None and initial.shape == table.shape:
        same = np.all(table == initial, axis=1)
        out["never_updated"] = float(same[1:].mean())
        out["seen_never_updated"] = float(same[seen].mean()) if len(seen) else 0.0
    if not out["finite"] or len(seen) <= k:
        return out
    rng = np.random.default_rng(seed)
    rows = seen if len(seen) <= max_rows else np.sort(rng.choice(seen, max_rows, replace=False))
    v = table[rows]
    norms = np.linalg.norm(v, axis=1)
    out.update(norm_mean=float(norms.mean()), norm_cv=float(norms.std() / max(norms.mean(),
                                                                             1e-12)),
               norm_min=float(norms.min()), norm_max=float(norms.max()))
    unit = v / np.maximum(norms[:, None], 1e-12)
    total = unit.sum(axis=0)
    n = len(unit)
    out["mean_cosine"] = float((total @ total - n) / (n * (n - 1)))
    singular = np.linalg.svd(v - v.mean(axis=0), compute_uv=False)
    p = singular / max(singular.sum(), 1e-12)
    p = p[p > 0]
    out["effective_rank"] = float(np.exp(-(p * np.log(p)).sum()))
    if categories is not None:
        knn = knn_category_agreement(v, categories[rows], k, items=np.arange(len(rows)))
        out.update(knn_agreement=knn["knn_agreement"],
                   random_agreement=knn["random_agreement"], knn_lift=knn["lift"])
    out["evaluated_rows"] = int(n)
    return out


def failures(values, thresholds=None):
    """Reasons the table is unhealthy (empty: healthy)."""
    t = dict(THRESHOLDS, **(thresholds or {}))
    bad = []
    if not values["finite"]:
        return ["non-finite values in the table"]
    if "knn_lift" in values and values["knn_lift"] < t["min_knn_lift"]:
        bad.append(f"kNN category agreement {values['knn_agreement']:.3f} is only "
                   f"{values['knn_lift']:.2f}x the random rate "
                   f"{values['random_agreement']:.3f} (< {t['min_knn_lift']})")
    if "mean_cosine" in values and values["mean_cosine"] > t["max_mean_cosine"]:
        bad.append(f"collapse: mean pairwise cosine {values['mean_cosine']:.3f} > "
                   f"{t['max_mean_cosine']}")
    if "effective_rank" in values and values["effective_rank"] < t["min_effective_rank"]:
        bad.append(f"effective rank {values['effective_rank']:.2f} < {t['min_effective_rank']}")
    if values.get("seen_never_updated", 0.0) > t["max_seen_never_updated"]:
        bad.append(f"{values['seen_never_updated']:.1%} of the rows the training data touches "
                   f"were never updated (> {t['max_seen_never_updated']:.0%})")
    return bad


def pca_plot(path, table, rows, categories):
    """The rows on their first two principal components, coloured by category."""
    from garden.plot import Canvas, PALETTE
    v = np.asarray(table, np.float64)[rows]
    v = v - v.mean(axis=0)
    _, _, vt = np.linalg.svd(v, full_matrices=False)
    xy = v @ vt[:2].T
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    canvas = Canvas(width=560, height=560, x_range=(lo[0], hi[0]), y_range=(lo[1], hi[1]))
    canvas.dots(xy[:, 0], xy[:, 1], PALETTE[np.asarray(categories)[rows] % len(PALETTE)])
    canvas.save(path)


def training_metadata(schema, cfg, data_dir):
    """item_metadata of the run's training data: (counts, {side feature: values})."""
    item = cfg.task.item
    return item_metadata(schema, os.path.join(data_dir, cfg.data.train_pattern), item,
                         schema.vocab_size(item))


def check_model(model, schema, cfg, data_dir, model_dir, thresholds=None, k=10, meta=None):
    """Health of every item table of `model`: {"tables": {...}, "passed": bool, ...}; writes
    the PCA plots and TensorBoard scalars under model_dir. meta: training_metadata, if known."""
    item = cfg.task.item
    counts, side = meta or training_metadata(schema, cfg, data_dir)
    categories = side.get("cat_id")
    initial_path = os.path.join(model_dir, SUBDIR, INITIAL)
    initial = dict(np.load(initial_path)) if os.path.exists(initial_path) else {}
    out_dir = os.path.join(model_dir, SUBDIR)
    os.makedirs(out_dir, exist_ok=True)
    report = {"tables": {}, "failures": {}}
    for name, variable in item_tables(model, item).items():
        table = variable.numpy()
        values = health(table, categories, counts, initial.get(name), k=k)
        report["tables"][name] = values
        bad = failures(values, thresholds)
        if bad:
            report["failures"][name] = bad
        seen = np.flatnonzero(counts > 0)
        seen = seen[seen > 0]
        if categories is not None and values["finite"] and len(seen) > 2:
            png = os.path.join(out_dir, f"{name}_pca.png")
            pca_plot(png, table, seen, categories)
            values["pca_plot"] = png
    report["passed"] = not report["failures"]
    writer = tf.summary.create_file_writer(out_dir)
    with writer.as_default():
        for name, values in report["tables"].items():
            for key, value in values.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    tf.summary.scalar(f"{name}/{key}", value, step=cfg.train.epochs)
    writer.flush()
    return report


def write_projector(model, schema, cfg, data_dir, model_dir, num_users=1000, meta=None):
    """Checkpoint, metadata TSVs and projector_config.pbtxt under model_dir/embeddings."""
    from tensorboard.plugins import projector
    item = cfg.task.item
    vocab = schema.vocab_size(item)
    counts, side = meta or training_metadata(schema, cfg, data_dir)
    buckets = popularity_buckets(counts)
    out_dir = os.path.join(model_dir, SUBDIR)
    os.makedirs(out_dir, exist_ok=True)
    tables = item_tables(model, item)
    header = ["id"] + [n.replace("_id", "") for n in side] + ["popularity_bucket", "count"]
    lines = ["\t".join(header)]
    for i in range(vocab):
        lines.append("\t".join([str(i)] + [str(side[n][i]) for n in side] +
                               [str(buckets[i]), str(counts[i])]))
    atomic_write_text(os.path.join(out_dir, "items.tsv"), "\n".join(lines) + "\n")
    variables = {name: tf.Variable(v.numpy(), name=name) for name, v in tables.items()}
    metadata = {name: "items.tsv" for name in variables}
    if model.task == "retrieval":
        vectors, users = _user_sample(model, schema, cfg, data_dir, num_users)
        variables["user_vectors"] = tf.Variable(vectors, name="user_vectors")
        user_lines = ["user_id\ttarget_cat\ttarget_item"] + ["\t".join(map(str, r))
                                                             for r in users]
        atomic_write_text(os.path.join(out_dir, "users.tsv"), "\n".join(user_lines) + "\n")
        metadata["user_vectors"] = "users.tsv"
    checkpoint = tf.train.Checkpoint(**variables)
    path = checkpoint.save(os.path.join(out_dir, "projector.ckpt"))
    config = projector.ProjectorConfig()
    for name in variables:
        embedding = config.embeddings.add()
        embedding.tensor_name = f"{name}/.ATTRIBUTES/VARIABLE_VALUE"
        embedding.metadata_path = metadata[name]
    projector.visualize_embeddings(out_dir, config)
    return {"checkpoint": path, "tensors": sorted(variables)}


def _user_sample(model, schema, cfg, data_dir, num_users):
    pattern = os.path.join(data_dir, cfg.data.eval_pattern)
    features, _ = next(iter(make_dataset(schema, pattern, num_users, training=False)))
    vectors = tf.cast(model(features, training=False), tf.float32).numpy()
    n = len(vectors)

    def column(name):
        return features[name].numpy() if name in features else np.zeros(n, np.int64)
    rows = list(zip(column(cfg.task.group), column("cat_id"), column(cfg.task.item)))
    return vectors, rows


def format_report(report):
    lines = []
    for name, values in report["tables"].items():
        shown = "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                          for k, v in values.items() if k != "pca_plot")
        lines.append(f"  {name}: {shown}")
        for reason in report["failures"].get(name, []):
            lines.append(f"    FAIL {reason}")
    lines.append("  healthy" if report["passed"] else "  UNHEALTHY")
    return "\n".join(lines)


FLAGS = flags.FLAGS

def main(argv):
    del argv
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    if not FLAGS.model_dir:
        sys.exit("--model_dir is required")
    from garden.evaluate import load_trained
    cfg, schema, data_dir, model = load_trained(FLAGS.model_dir)
    thresholds = {key: getattr(FLAGS, key) for key in THRESHOLDS}
    report = check_model(model, schema, cfg, data_dir, FLAGS.model_dir, thresholds, FLAGS.k)
    print(f"Embedding health of {cfg.model_name} ({FLAGS.model_dir}):")
    print(format_report(report))
    path = os.path.join(FLAGS.model_dir, "metrics.json")
    result = json.load(open(path)) if os.path.exists(path) else {}
    result["embeddings"] = report
    atomic_write_text(path, json.dumps(result, indent=2))
    print(json.dumps(report))
    if not report["passed"]:
        sys.exit(1)


def define_flags():
    flags.DEFINE_string("model_dir", None, "Folder of a training run (has config.yaml).")
    flags.DEFINE_integer("k", 10, "Neighbours per item for the category agreement.")
    for key, value in THRESHOLDS.items():
        flags.DEFINE_float(key, value, f"Fail threshold ({key.replace('_', ' ')}).")


def run():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
