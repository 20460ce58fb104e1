"""Item vectors and a top-K SavedModel for a trained retrieval model.

    export_index(model, out_dir) writes
      out_dir/item_vectors.npy   float32 [num_items - 1, d'], the corpus without padding row 0
      out_dir/item_ids.npy       int64 [num_items - 1], the item id of each row
      out_dir/top_k/<version>/   SavedModel (loads with TensorFlow alone)

The item vectors are model.index_items(): the dot product of an index query
(model.index_queries of the query SavedModel's `query_vector`) with an item's row is the
model's score of that item, so any maximum-inner-product index over them (ScaNN, FAISS)
retrieves what the model ranks. For table heads the index query is [query_vector, 1] and the
last column holds the item bias; for two towers it is the normalized query / temperature.

The top-K SavedModel, built on TFRS `factorized_top_k.BruteForce`, has one signature
    top_k(query_vector [B, d] float32, or [B, K, d] for multi-interest models, k int32 scalar)
      -> {"item_ids": [B, k] int64, "scores": [B, k] float32}
with k chosen per request, 1 <= k <= max_k. A multi-interest query (MIND) retrieves the k
best items of each interest and returns the k best of their union, an item scored by its
best interest: exactly the top k over all items by that score.

ScaNN (`--index=scann`) is not available: scann 1.4.2's TensorFlow ops, which TFRS's
`factorized_top_k.ScaNN` layer and a ScaNN SavedModel need (TF Serving too, as its
tf-serving-scann build), are compiled against TensorFlow 2.20 (its `[tf]` extra pins
tensorflow~=2.20.0) and fail to load into the TensorFlow 2.21 the garden pins (an undefined
abseil symbol). Worse, with scann 1.4.2 installed next to TensorFlow 2.21, importing TFRS
fails (TFRS imports scann when present and catches only ImportError, not the NotFoundError
of the op library), and with it the garden: do not install it into the garden's environment.
Its numpy API (scann.scann_ops_pybind) does load, in an environment of its own, to build a
searcher over item_vectors.npy outside TensorFlow. See scann_unavailable().
"""
import contextlib
import os
import shutil
import tempfile

import numpy as np

import garden  # noqa: F401  (Keras 2 before TensorFlow loads)
import tensorflow as tf  # noqa: E402
import tensorflow_recommenders as tfrs  # noqa: E402

from garden import export, fresh_process  # noqa: E402
from input.atomic import make_temp_dir  # noqa: E402


def _union_top_k(scores, ids, k):
    """scores, ids [B, M] (several candidate lists side by side) -> the k best distinct ids."""
    order = tf.argsort(scores, axis=1, direction="DESCENDING", stable=True)
    scores = tf.gather(scores, order, batch_dims=1)
    ids = tf.gather(ids, order, batch_dims=1)
    m = tf.shape(ids)[1]
    earlier = tf.linalg.band_part(tf.ones([m, m], tf.bool), -1, 0) & ~tf.eye(m, dtype=tf.bool)
    repeated = tf.reduce_any((ids[:, :, None] == ids[:, None, :]) & earlier[None], axis=2)
    scores = tf.where(repeated, scores.dtype.min, scores)
    top = tf.math.top_k(scores, k=k)
    return top.values, tf.gather(ids, top.indices, batch_dims=1)


INDEXES = ("brute_force", "scann")


def scann_unavailable():
    """Why the garden cannot export a ScaNN top-K SavedModel here: one sentence, with what
    importing scann did in this process."""
    try:
        from scann import scann_ops  # noqa: F401  (loads the TensorFlow op library)
        found = ("scann imports here, but the garden's ScaNN export is not written: it was "
                 "left out when scann 1.4.2 could not load into TensorFlow 2.21")
    except ImportError as e:  # not installed (ModuleNotFoundError is one)
        found = f"importing scann failed: {e}"
    except tf.errors.NotFoundError as e:  # installed, but its op library does not load
        found = f"scann's TensorFlow op library does not load: {str(e)[-200:]}"
    return ("--index=scann needs ScaNN's TensorFlow ops (tfrs.layers.factorized_top_k.ScaNN "
            "and the SavedModel use them), and scann 1.4.2 builds them for TensorFlow 2.20 "
            f"(its [tf] extra pins tensorflow~=2.20.0) while the garden pins TensorFlow "
            f"{tf.__version__} ({found}). Use --index=brute_force (exact top-K), or build a "
            "ScaNN searcher over item_vectors.npy with scann.scann_ops_pybind (numpy, no "
            "TensorFlow).")


def check_index_kind(kind):
    """Raises ValueError naming the choices, or why ScaNN is unavailable."""
    if kind not in INDEXES:
        raise ValueError(f"--index must be one of {INDEXES}, got {kind!r}")
    if kind == "scann":
        raise ValueError(scann_unavailable())


def top_k_module(model, max_k):
    """(a tf.Module holding the index (BruteForce over model.index_items()), the top_k
    signature as a concrete function (traced once: see export._serving_module), the item
    vectors, their ids)."""
    vectors = tf.cast(model.index_items(), tf.float32)[1:]  # row 0 is padding
    ids = tf.range(1, tf.shape(vectors)[0] + 1, dtype=tf.int64)
    if not 1 <= max_k <= vectors.shape[0]:
        raise ValueError(f"max_k must be in 1..{vectors.shape[0]} (the corpus), got {max_k}")
    brute_force = tfrs.layers.factorized_top_k.BruteForce(k=max_k)
    brute_force.index(vectors, ids)
    query_shape = [None] + list(model.query_shape)
    module = tf.Module()
    module.index_variables = list(brute_force.variables)

    @tf.function(input_signature=[tf.TensorSpec(query_shape, tf.float32, name="query_vector"),
                                  tf.TensorSpec([], tf.int32, name="k")], autograph=False)
    def top_k(query_vector, k):
        tf.debugging.assert_greater_equal(k, 1, message="k must be >= 1")
        tf.debugging.assert_less_equal(k, max_k, message=f"k must be <= max_k = {max_k}")
        queries = model.index_queries(query_vector)
        if len(query_shape) == 2:
            scores, items = brute_force(queries, k=k)
        else:
            interests, dim = query_shape[1], queries.shape[-1]
            scores, items = brute_force(tf.reshape(queries, [-1, dim]), k=k)
            scores, items = _union_top_k(tf.reshape(scores, [-1, interests * k]),
                                         tf.reshape(items, [-1, interests * k]), k)
        return {"item_ids": items, "scores": scores}

    return module, top_k.get_concrete_function(), vectors.numpy(), ids.numpy()


def export_index(model, out_dir, max_k=None, kind="brute_force"):
    """Writes the item vectors and the top-K SavedModel (see the module docstring); returns
    the SavedModel's path. `kind` is one of INDEXES (only brute_force works: see
    scann_unavailable)."""
    check_index_kind(kind)
    max_k = max_k or model.top_k
    module, top_k, vectors, ids = top_k_module(model, max_k)
    os.makedirs(out_dir, exist_ok=True)
    np.save(os.path.join(out_dir, "item_vectors.npy"), vectors)
    np.save(os.path.join(out_dir, "item_ids.npy"), ids)
    base = os.path.join(out_dir, "top_k")
    os.makedirs(base, exist_ok=True)
    final = os.path.join(base, str(export.next_version(base)))
    tmp = make_temp_dir(final)
    try:
        tf.saved_model.save(module, tmp, signatures={"top_k": top_k})
        os.rename(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


# A fresh interpreter with TensorFlow and numpy only, as a serving process would be.
_RETRIEVER = r"""
import sys
import numpy as np
import tensorflow as tf
path, queries, out = sys.argv[1:4]
top_k = tf.saved_model.load(path).signatures["top_k"]
q = tf.constant(np.load(queries))
results = {}
for k in (1, int(sys.argv[4])):
    outputs = top_k(query_vector=q, k=tf.constant(k))
    results[f"ids{k}"], results[f"scores{k}"] = outputs["item_ids"].numpy(), outputs["scores"].numpy()
try:
    top_k(query_vector=q, k=tf.constant(int(sys.argv[4]) + 1))
    results["too_large_k_rejected"] = np.array(False)
except tf.errors.InvalidArgumentError:
    results["too_large_k_rejected"] = np.array(True)
assert not any(m == "garden" or m.startswith(("garden.", "input.", "layers.",
                                              "tensorflow_recommenders"))
               for m in sys.modules), "the retriever imported the garden or TFRS"
np.savez(out, **results)
"""


def check_index(model, features, index_path, max_k=None, process=None):
    """Retrieves for `features` with the top-K SavedModel in a fresh process (`process`, a
    fresh_process.FreshProcess, default a new one) and compares with the model's own top-K
    over the whole corpus (serving_outputs), for k = 1 and max_k.

    Returns {"queries", "too_large_k_rejected", **compare_top_k}.
    """
    max_k = max_k or model.top_k
    query = tf.function(lambda f: model(f, training=False), autograph=False)(features).numpy()
    expected = {}
    for k in (1, max_k):
        outputs = tf.function(lambda f, k=k: model.serving_outputs(f, k=k),
                              autograph=False)(features)
        expected[f"ids{k}"] = outputs["item_ids"].numpy()
        expected[f"scores{k}"] = outputs["scores"].numpy()
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "queries.npy"), query.astype(np.float32))
        out = os.path.join(tmp, "results.npz")
        with contextlib.ExitStack() as stack:
            process = process or stack.enter_context(fresh_process.FreshProcess())
            process.run(f"retrieving with {index_path}", _RETRIEVER,
                        os.path.abspath(index_path), os.path.join(tmp, "queries.npy"), out,
                        max_k)
        actual = dict(np.load(out))
    return {"queries": int(len(query)),
            "too_large_k_rejected": bool(actual.pop("too_large_k_rejected")),
            **compare_top_k(expected, actual)}


def compare_top_k(expected, actual):
    """{"max_abs_diff", "max_scaled_diff", "id_agreement"} of the index's results `actual`
    against the model's `expected` (both {"ids<k>", "scores<k>"}): the score differences rank
    by rank (scaled: / max(1, |model's score|); a NaN counts as infinite) and the share of
    equal ids. Ids may differ only where two items tie within the tolerance: the scores are
    compared rank by rank, so a wrong item with another score fails on its score."""
    worst_abs, worst_scaled, same, total = 0.0, 0.0, 0, 0
    for key, value in expected.items():
        if key not in actual or actual[key].shape != value.shape:
            raise RuntimeError(f"top-K output {key!r} missing or of another shape")
        if key.startswith("ids"):
            same += int(np.sum(actual[key] == value))
            total += value.size
            continue
        diff, scaled = export.float_diffs(value, actual[key])
        worst_abs, worst_scaled = max(worst_abs, diff), max(worst_scaled, scaled)
    return {"max_abs_diff": worst_abs, "max_scaled_diff": worst_scaled,
            "id_agreement": same / max(total, 1)}


def mismatch_message(info, tolerance=export.TOLERANCE):
    if not info["too_large_k_rejected"]:
        return "the top-K SavedModel accepted a k above its max_k"
    return (f"the index's scores differ from the model's by {info['max_scaled_diff']:.3g} "
            f"(difference / max(1, |score|); {info['max_abs_diff']:.3g} absolute) > "
            f"{tolerance:g}")


def export_and_check(model, schema, out_dir, pattern, num_examples=256, kind="brute_force",
                     tolerance=export.TOLERANCE, process=None):
    """export_index, then check_index (in `process`) on the first held-out examples of
    `pattern`. The check
    passes when every score is within `tolerance` of the model's (as export.check_export
    scales it) and a k above max_k is refused; a version that fails is renamed
    rejected-<version> (export.reject), like a failed model export.
    Returns {"path", "passed", **check_index}."""
    from input.reader import list_files, parse_batch
    path = export_index(model, out_dir, kind=kind)
    records = [r.numpy() for r in tf.data.TFRecordDataset(list_files(pattern)).take(num_examples)]
    features, _ = parse_batch(schema, tf.constant(records), with_labels=False,
                              names=model.feature_names)
    info = check_index(model, features, path, process=process)
    passed = info["max_scaled_diff"] <= tolerance and info["too_large_k_rejected"]
    if not passed:
        path = export.reject(path)
    return {"path": path, "passed": passed, **info}
