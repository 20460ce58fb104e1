"""TensorFlow Datasets recommendation data -> the same events as the raw MovieLens files.

    --dataset=tfds:movielens/1m-ratings   (also 100k-, 20m-, 25m-, latest-small-ratings)

Reads with `tensorflow_datasets` (it downloads and prepares the data into its own folder on
first use; --raw_dir, when given, is passed as its data_dir). User side features are read
where the variant has them (gender, age bucket, occupation, zip prefix); genres are label ids.
"""
import numpy as np

from input.converters import common
from input.converters.movielens import LIKED

SUPPORTED = ("movielens/100k-ratings", "movielens/1m-ratings", "movielens/20m-ratings",
             "movielens/25m-ratings", "movielens/latest-small-ratings")


def _strings(values):
    return np.array([v.decode("utf-8", "replace").strip() if isinstance(v, bytes) else str(v)
                     for v in values], dtype=str)


def read_tfds(name, raw_dir, malformed, log=print, batch_size=65536):
    if name not in SUPPORTED:
        raise common.ConversionError(f"--dataset=tfds:{name}: supported TFDS datasets are "
                                     f"{['tfds:' + s for s in SUPPORTED]}")
    import tensorflow_datasets as tfds  # heavy; only this converter needs it

    ds = tfds.load(name, split="train", data_dir=raw_dir or None, shuffle_files=False)
    return _chunks(name, ds, malformed, log, batch_size)


def _chunks(name, ds, malformed, log, batch_size):
    """Events per batch of the dataset (a generator: the ratings are never all held)."""
    progress = common.Progress(f"tfds:{name}", log)
    rows = 0
    for batch in _batches(ds, batch_size):
        yield _events(name, batch, rows, malformed)
        rows += len(batch["user_id"])
        progress.tick(rows)
    progress.done(rows)
    if not rows:
        raise common.ConversionError(f"tfds:{name}: the dataset is empty")


def _events(name, col, first_row, malformed):
    users, items = _strings(col["user_id"]), _strings(col["movie_id"])
    ok = (users != "") & (items != "")
    for row in np.flatnonzero(~ok).tolist():
        malformed.add(f"tfds:{name} row {first_row + row}", "empty user_id or movie_id")
    genres = np.array(["|".join(str(int(g)) for g in row) for row in col["movie_genres"]],
                      dtype=str)
    first = np.array([g.split("|")[0] for g in genres.tolist()], dtype=str)
    user_features = {}
    if "user_gender" in col:
        user_features["gender"] = np.where(col["user_gender"], "M", "F").astype(str)
    if "bucketized_user_age" in col:
        user_features["age"] = col["bucketized_user_age"].astype(np.int64).astype(str)
    if "user_occupation_label" in col:
        user_features["occupation"] = col["user_occupation_label"].astype(str)
    if "user_zip_code" in col:
        user_features["zip"] = np.array([z[:2] for z in _strings(col["user_zip_code"])],
                                        dtype=str)
    return common.Events(
        user=users[ok], item=items[ok], time=col["timestamp"].astype(np.int64)[ok],
        label=(col["user_rating"] >= LIKED).astype(np.float32)[ok],
        user_features={k: v[ok] for k, v in user_features.items()},
        item_features={"cat_id": first[ok]}, item_multi={"genres": genres[ok]})


def _batches(ds, batch_size):
    """Dicts of numpy arrays; variable-length genre lists become lists of lists."""
    import tensorflow as tf
    for batch in ds.ragged_batch(batch_size):
        yield {key: value.to_list() if isinstance(value, tf.RaggedTensor) else value.numpy()
               for key, value in batch.items()}
