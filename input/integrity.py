"""Data integrity: corrupt TFRecord files found before training, bad values counted during it.

A TFRecord file that is truncated or has a flipped bit fails its CRC check at the damaged
record; TensorFlow then stops the input pipeline with a DataLossError that does not say which
file. `scan_files` reads every file once before training (CRC-checked, nothing parsed), so the
error names the file, or, with skip_corrupt, keeps each damaged file's records before the damage
and reports what was dropped. `DataCounters` counts, per feature, the ids outside the vocabulary
(mapped to the OOV row 0) and the NaN/Inf float values the reader rejected or replaced.
"""
import dataclasses
from typing import Dict, List, Tuple

import tensorflow as tf


class CorruptFileError(ValueError):
    """A TFRecord file that cannot be read to its end."""


@dataclasses.dataclass
class FileScan:
    """What scan_files found: readable records per file, and the damaged files."""
    records: Dict[str, int]  # path -> records readable (all of them for an intact file)
    corrupt: List[Tuple[str, str]]  # (path, TensorFlow's message) for each damaged file

    @property
    def total(self):
        return sum(self.records.values())


def _count(dataset):
    # In batches: one reduce step per record costs ~30 us, 2 s for 60,000 records.
    return int(dataset.batch(4096).reduce(
        tf.constant(0, tf.int64), lambda n, batch: n + tf.size(batch, out_type=tf.int64)))


def scan_files(files, skip_corrupt=False):
    """Reads every record of `files`; returns a FileScan.

    A damaged file raises CorruptFileError naming it, the record where reading failed and
    TensorFlow's reason; with skip_corrupt=True it is kept up to that record instead (records
    after the damage cannot be framed reliably, so they are dropped too) and listed in
    FileScan.corrupt.
    """
    records, corrupt = {}, []
    for path in files:
        try:
            records[path] = _count(tf.data.TFRecordDataset(path))
            continue
        except tf.errors.DataLossError as e:
            message = e.message.split("[Op:")[0].split("}}")[-1].strip()
        readable = _count(tf.data.TFRecordDataset(path).ignore_errors())
        if not skip_corrupt:
            raise CorruptFileError(
                f"{path}: corrupt or truncated TFRecord file: reading failed after record "
                f"{readable} ({message}); fix or remove the file, or pass "
                "--skip_corrupt_records to train on its readable records only") from None
        records[path] = readable
        corrupt.append((path, message))
    return FileScan(records, corrupt)


def vetted_records(files):
    """The records of `files`, each file read up to any damage: for statistics over training
    files that garden.train has already vetted (stopped on a damaged one, or kept its readable
    part under --skip_corrupt_records), so they count what training reads."""
    return tf.data.Dataset.from_tensor_slices(files).interleave(
        lambda path: tf.data.TFRecordDataset(path).ignore_errors(), cycle_length=4,
        num_parallel_calls=4)


class DataCounters:
    """Per-feature counts of bad values the reader met: OOV ids and NaN/Inf floats.

    The counts live in int64 variables that the input pipeline's parse function increments
    (tf.data runs it on the host CPU whatever the devices, so GPU runs count the same).
    """

    def __init__(self, schema):
        self.oov, self.nonfinite = {}, {}
        with tf.init_scope():  # plain host variables, outside any distribution strategy
            for f in schema:
                if f.kind in ("sparse", "sequence") and f.dtype == "int64":
                    self.oov[f.name] = tf.Variable(0, dtype=tf.int64, trainable=False)
                elif f.dtype == "float32":
                    self.nonfinite[f.name] = tf.Variable(0, dtype=tf.int64, trainable=False)

    def values(self):
        """{"oov/<feature>": n, "nonfinite/<feature>": n} for every count above zero."""
        out = {}
        for kind, variables in (("oov", self.oov), ("nonfinite", self.nonfinite)):
            for name, variable in variables.items():
                if int(variable.numpy()):
                    out[f"{kind}/{name}"] = int(variable.numpy())
        return out
