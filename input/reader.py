"""tf.data pipeline: sharded TFRecords of tf.train.Example -> batches of dense tensors.

Batches are parsed whole (`batch` then `parse_example`), never record by record. Each batch is
`(features, labels)`: features maps names to dense tensors (sparse ids [B], dense values
[B, dim], sequences [B, max_len] plus int32 `<name>_len` [B]); labels maps every label and
weight feature to a [B] tensor.
"""
import random

import tensorflow as tf

from input.integrity import scan_files
from input.specs import SchemaError

NONFINITE_MESSAGE = "has NaN or Inf values"
_TF_DTYPES = {"int64": tf.int64, "float32": tf.float32, "string": tf.string}
_PROTO_LIST = {"int64": "int64_list", "float32": "float_list", "string": "bytes_list"}


def parse_spec(schema, with_labels=True, names=None):
    """The feature spec for tf.io.parse_example (only `names` when given)."""
    spec = {}
    for f in schema:
        if f.kind in ("label", "weight") and not with_labels:
            continue
        if names is not None and f.name not in names:
            continue
        dtype = _TF_DTYPES[f.dtype]
        if f.kind == "sequence":
            spec[f.name] = tf.io.RaggedFeature(dtype, row_splits_dtype=tf.int32)
        elif f.kind == "dense":
            spec[f.name] = tf.io.FixedLenFeature([f.dim], dtype)
        else:
            spec[f.name] = tf.io.FixedLenFeature([], dtype)
    return spec


def parse_batch(schema, serialized, with_labels=True, names=None, counters=None):
    """Parses a [B] string tensor of serialized tf.Example into (features, labels).

    Ids outside [0, vocab_size) map to 0, the padding/OOV row. NaN/Inf floats stop the
    pipeline with an error naming the feature, or become 0, as the feature's `nonfinite`
    says. `counters` (an input.integrity.DataCounters) counts both. With with_labels=False
    (serving), label and weight features are neither required nor returned; with `names`,
    only those features are parsed (a serving request carries just what the model reads).
    """
    parsed = tf.io.parse_example(serialized, parse_spec(schema, with_labels, names))
    features, labels = {}, {}
    for f in schema:
        if f.name not in parsed:
            continue
        value = parsed[f.name]
        if f.dtype == "float32":
            value = _check_finite(f, value, counters)
        if f.kind in ("label", "weight"):
            labels[f.name] = value
        elif f.kind == "dense":
            features[f.name] = value
        elif f.kind == "sparse":
            features[f.name] = ids_in_vocab(value, schema.vocab_size(f.name), f.dtype,
                                       _counter(counters, "oov", f.name))
        else:
            padded, length = pad_truncate(value, f.max_len)
            features[f.name] = ids_in_vocab(padded, schema.vocab_size(f.name), f.dtype,
                                       _counter(counters, "oov", f.name))
            features[f"{f.name}_len"] = length
    return features, labels


def _counter(counters, kind, name):
    return getattr(counters, kind).get(name) if counters is not None else None


def _check_finite(f, value, counters):
    finite = tf.math.is_finite(value)
    counter = _counter(counters, "nonfinite", f.name)
    if counter is not None:
        counter.assign_add(tf.reduce_sum(tf.cast(~finite, tf.int64)))
    if f.nonfinite == "zero":
        return tf.where(finite, value, tf.zeros_like(value))
    check = tf.debugging.Assert(tf.reduce_all(finite), [
        f"feature {f.name!r} {NONFINITE_MESSAGE} (its schema entry says nonfinite: reject; "
        "set nonfinite: zero to replace them by 0)"])
    with tf.control_dependencies([check]):
        return tf.identity(value)


def pad_truncate(ragged, max_len):
    """[B, None] RaggedTensor -> ([B, max_len] dense, [B] int32 length), keeping the last items.

    Items stay in their stored (oldest first) order, left-aligned; the tail is padding.
    """
    ragged = ragged[:, -max_len:]
    default = "" if ragged.dtype == tf.string else 0
    dense = ragged.to_tensor(default_value=tf.constant(default, ragged.dtype),
                             shape=[None, max_len])
    return dense, tf.cast(ragged.row_lengths(), tf.int32)


def ids_in_vocab(value, vocab_size, dtype, oov_counter=None):
    """Ids as the model reads them: int ids outside [0, vocab_size) become 0 (padding/OOV),
    counted in `oov_counter` when given; strings are hashed into [1, vocab_size), the empty
    string (padding) is 0."""
    if dtype == "string":
        # Hashed ids live in [1, vocab_size); the empty string (padding) is 0.
        hashed = tf.strings.to_hash_bucket_fast(value, vocab_size - 1) + 1
        return tf.where(tf.equal(value, ""), tf.zeros_like(hashed), hashed)
    # Out-of-range ids would be an error in a CPU gather and a silent zero row on GPU; both
    # devices get the OOV row instead.
    in_range = (value >= 0) & (value < vocab_size)
    if oov_counter is not None:
        oov_counter.assign_add(tf.reduce_sum(tf.cast(~in_range, tf.int64)))
    return tf.where(in_range, value, tf.zeros_like(value))


def list_files(file_pattern):
    files = sorted(tf.io.gfile.glob(file_pattern))
    if not files:
        raise FileNotFoundError(f"no files match {file_pattern!r}")
    return files


def count_records(file_pattern):
    """Number of records in the files matching `file_pattern` (reads them, parses nothing;
    a corrupt file raises input.integrity.CorruptFileError naming it)."""
    return scan_files(list_files(file_pattern)).total


def validate_files(schema, files, num_records=8):
    """Checks the first records of every file against the schema, before any training.

    Raises SchemaError naming the file and the feature when a feature is missing, has the wrong
    value type, or the wrong number of values; and naming the file when it is not a readable
    TFRecord file of tf.train.Example.
    """
    for path in files:
        records = _first_records(path, num_records)
        if not records:
            raise SchemaError(f"{path}: the file holds no records")
        seen = set()
        for index, example in enumerate(records):
            for f in schema:
                value = example.features.feature.get(f.name)
                if value is None:
                    continue
                seen.add(f.name)
                _check_value(path, index, f, value)
        for f in schema:
            if f.name not in seen:
                raise SchemaError(f"{path}: feature {f.name!r} ({f.kind}, {f.dtype}) is missing "
                                  f"from the first {len(records)} records")
            if f.kind != "sequence":  # fixed-length features must be in every record
                for index, example in enumerate(records):
                    if f.name not in example.features.feature:
                        raise SchemaError(f"{path}: record {index} lacks feature {f.name!r}")


def _first_records(path, num_records):
    records = []
    try:
        for raw in tf.data.TFRecordDataset(path).take(num_records):
            records.append(tf.train.Example.FromString(raw.numpy()))
    except tf.errors.OpError as e:
        raise SchemaError(f"{path}: not a readable TFRecord file ({e.message})") from None
    except Exception as e:  # protobuf's DecodeError: the record is not a tf.train.Example
        raise SchemaError(f"{path}: record {len(records)} is not a tf.train.Example ({e})") \
            from None
    return records


def _check_value(path, index, f, value):
    kind = value.WhichOneof("kind")
    expected = _PROTO_LIST[f.dtype]
    if kind is not None and kind != expected:
        raise SchemaError(f"{path}: record {index}: feature {f.name!r} holds {kind}, the schema "
                          f"says {f.kind} of {f.dtype} ({expected})")
    if f.kind == "sequence":
        return
    count = len(getattr(value, expected).value)
    want = f.dim if f.kind == "dense" else 1
    if count != want:
        raise SchemaError(f"{path}: record {index}: feature {f.name!r} has {count} values, the "
                          f"schema says {want}")


def make_dataset(schema, file_pattern, batch_size, training, *, shuffle_buffer=10000,
                 seed=None, repeat=False, drop_remainder=False, validate=True,
                 record_limits=None, skip_batches=0, counters=None, features=None,
                 in_memory=False):
    """Batches of (features, labels) from TFRecord files matching `file_pattern`.

    training=True shuffles files and records (reproducibly when `seed` is set); evaluation
    reads files in order. Files are checked against the schema first (see validate_files).
    record_limits: {path: n} reads only the first n records of a file (the readable part of
      a damaged file, from input.integrity.scan_files).
    skip_batches: drops that many batches before parsing anything: with a seed, the stream
      then continues exactly where a run that had trained that many steps left it.
    counters: an input.integrity.DataCounters that counts OOV ids and NaN/Inf values.
    features: names of the features to parse (a model's training_features); labels and
      weights always come. None: every feature of the schema. Parsing is most of the
      pipeline's work, and a model often reads a few of a dataset's sequences.
    in_memory: (training only) parse the files once into memory and batch from there; see
      memory_dataset. For splits that fit in memory (see fits_in_memory).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    files = list_files(file_pattern)
    if validate:
        validate_files(schema, files)
    if in_memory and training:
        loaded = make_dataset(schema, file_pattern, 8192, training=False, validate=False,
                              record_limits=record_limits, counters=counters,
                              features=features)
        return memory_dataset(load_batches(loaded), batch_size, seed=seed, repeat=repeat,
                              drop_remainder=drop_remainder, skip_batches=skip_batches)
    deterministic = not training or seed is not None
    limits = [(record_limits or {}).get(f, -1) for f in files]
    ds = tf.data.Dataset.from_tensor_slices((files, tf.constant(limits, tf.int64)))
    if training:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = ds.interleave(lambda path, limit: tf.data.TFRecordDataset(path).take(limit),
                       cycle_length=min(len(files), 8), num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=deterministic)
    if training and shuffle_buffer > 1:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if skip_batches:
        ds = ds.skip(skip_batches)
    names = None
    if features is not None:
        unknown = sorted(set(features) - {f.name for f in schema})
        if unknown:
            raise SchemaError(f"features {unknown} are not in the schema")
        names = set(features) | {f.name for f in schema if f.kind in ("label", "weight")}
    ds = ds.map(lambda s: parse_batch(schema, s, names=names, counters=counters),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    return ds.prefetch(tf.data.AUTOTUNE)


def fits_in_memory(file_pattern, limit_mb):
    """Whether the TFRecord files matching `file_pattern` total at most `limit_mb` MB."""
    size = sum(tf.io.gfile.stat(f).length for f in list_files(file_pattern))
    return size <= limit_mb * 2 ** 20


def load_batches(dataset):
    """Every batch of `dataset` concatenated: (features, labels) of whole-split tensors."""
    batches = list(dataset)
    if not batches:
        raise ValueError("the dataset to load into memory is empty")
    return tf.nest.map_structure(lambda *parts: tf.concat(parts, axis=0), *batches)


def memory_dataset(data, batch_size, seed=None, repeat=False, drop_remainder=False,
                   skip_batches=0):
    """Training batches of in-memory (features, labels) tensors, each epoch a fresh uniform
    permutation of all examples (a seeded run gets the same permutations every time).

    The batching is vectorized: one permutation per epoch, cut into batches by `rebatch`
    (batches run on across epochs, as repeat-then-batch does), one gather per tensor per
    batch. No per-example work is left, which a record pipeline cannot avoid; parsing,
    OOV mapping and the NaN/Inf checks (and their counters) ran once, when the data was
    loaded. Shuffling is over the whole split, not a buffer.
    """
    first = tf.nest.flatten(data)[0]
    n = int(first.shape[0])
    seed = random.getrandbits(31) if seed is None else int(seed)

    def order(epoch):  # a permutation op: 12x faster than argsort of random keys at 90k
        return tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch]))

    epochs = tf.data.Dataset.counter() if repeat else tf.data.Dataset.range(1)
    ds = epochs.map(order).rebatch(batch_size, drop_remainder=drop_remainder)
    if skip_batches:
        ds = ds.skip(skip_batches)
    # One gather per tensor is cheap: a sequential map and a small prefetch buffer keep the
    # pipeline's threads from competing with training for the cores.
    ds = ds.map(lambda index: tf.nest.map_structure(lambda t: tf.gather(t, index), data))
    return ds.prefetch(2)
