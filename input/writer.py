"""Writes columns of feature values as sharded TFRecords of tf.train.Example."""
import os

import numpy as np
import tensorflow as tf

from input.atomic import atomic_path

_LIST_ATTR = {"int64": "int64_list", "float32": "float_list", "string": "bytes_list"}


def shard_paths(out_dir, prefix, num_shards):
    return [os.path.join(out_dir, f"{prefix}-{i:05d}-of-{num_shards:05d}.tfrecord")
            for i in range(num_shards)]


def write_tfrecords(schema, columns, out_dir, prefix="train", num_shards=1):
    """Writes one tf.train.Example per row and returns the shard paths.

    columns: feature name -> values for every feature of `schema`:
      sparse, label, weight: an array [N] (strings for hashed features);
      dense: an array [N] or [N, dim];
      sequence: a pair (values [N, L], lengths [N]) whose row i is values[i, :lengths[i]],
        oldest first, or a list of N 1-D arrays.
    Rows go to `num_shards` contiguous shards; each shard is written to a temporary name and
    renamed when complete.
    """
    plan, num_rows = _plan(schema, columns)
    paths = shard_paths(out_dir, prefix, num_shards)
    bounds = np.linspace(0, num_rows, num_shards + 1).astype(int)
    os.makedirs(out_dir, exist_ok=True)
    for path, start, end in zip(paths, bounds[:-1], bounds[1:]):
        with atomic_path(path) as tmp:
            with tf.io.TFRecordWriter(tmp) as writer:
                for i in range(start, end):
                    writer.write(_example(plan, i))
    return paths


def _example(plan, i):
    example = tf.train.Example()
    feature = example.features.feature
    for name, attr, values, is_list in plan:
        value_list = getattr(feature[name], attr)
        if is_list:
            value_list.SetInParent()  # an empty sequence is still present in the record
            value_list.value.extend(values[i])
        else:
            value_list.value.append(values[i])
    return example.SerializeToString()


def _plan(schema, columns):
    """Turns columns into Python lists once, so the per-row loop does no numpy work."""
    missing = [s.name for s in schema if s.name not in columns]
    if missing:
        raise ValueError(f"no values given for features {missing}")
    plan, num_rows = [], None
    for spec in schema:
        values, is_list = _as_lists(spec, columns[spec.name])
        if num_rows is None:
            num_rows = len(values)
        if len(values) != num_rows:
            raise ValueError(f"feature {spec.name!r} has {len(values)} rows, expected {num_rows}")
        plan.append((spec.name, _LIST_ATTR[spec.dtype], values, is_list))
    return plan, num_rows or 0


def _as_lists(spec, column):
    if spec.kind == "sequence":
        if isinstance(column, tuple):
            padded, lengths = column
            rows = [row[:n] for row, n in zip(np.asarray(padded).tolist(),
                                               np.asarray(lengths).tolist())]
        else:
            rows = [np.asarray(row).tolist() for row in column]
        if spec.dtype == "string":
            rows = [[_to_bytes(v) for v in row] for row in rows]
        return rows, True
    array = np.asarray(column)
    if spec.dtype == "string":
        return [_to_bytes(v) for v in array.tolist()], False
    if spec.kind == "dense":
        array = array.reshape(len(array), -1)
        if array.shape[1] != spec.dim:
            raise ValueError(f"dense feature {spec.name!r} has {array.shape[1]} values per row, "
                             f"the schema says dim={spec.dim}")
        return array.astype(np.float32).tolist(), True
    if array.ndim != 1:
        raise ValueError(f"feature {spec.name!r} must be one value per row, got shape "
                         f"{array.shape}")
    kind = np.float32 if spec.dtype == "float32" else np.int64
    return array.astype(kind).tolist(), False


def _to_bytes(value):
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def write_shard(schema, columns, path):
    """Writes every row of `columns` (as in write_tfrecords) into the one file `path`, under a
    temporary name renamed when complete. Lets a caller write a large dataset shard by shard,
    holding only one shard's rows as Python values at a time."""
    plan, num_rows = _plan(schema, columns)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_path(path) as tmp:
        with tf.io.TFRecordWriter(tmp) as writer:
            for i in range(num_rows):
                writer.write(_example(plan, i))
    return path


def append_rows(schema, columns, writer):
    """Writes every row of `columns` (as in write_tfrecords) to an open tf.io.TFRecordWriter
    and returns how many: for writers that fill shards piece by piece."""
    plan, num_rows = _plan(schema, columns)
    for i in range(num_rows):
        writer.write(_example(plan, i))
    return num_rows
