"""Streaming conversion of impression logs (Criteo, Avazu) in memory bounded by the vocabulary.

The full Kaggle Criteo (45M rows, 11 GB of text) and Avazu (40M rows) do not fit in memory as
parsed columns, and impressions need no per-user state, so the file is read in blocks of lines
(`line_blocks`) several times, never held whole:

1. count: parse every block; count every categorical value and bucket key exactly
   (`ValueCounts`: sorted unique values and their counts, numpy, O(distinct values)), the
   split key's histogram (Avazu's hour; Criteo's row position) and per-block moments of the
   dense features. Remember each block's byte offset.
2. test tail: the split is now known (the last `test_fraction` of time, as `time_split`);
   re-read only the blocks that hold test rows, subtract their test rows' counts (so
   vocabularies count training rows only) and recompute those blocks' training moments.
   Criteo and Avazu files are in time order, so this is about `test_fraction` of the file.
3. write: re-read every block, map values to ids, standardize, and write train and test rows
   to their shards as they come.

Memory is that of the counts plus one block. Exact counts fit: Criteo's 26 fields hold about
34M distinct 8-hex-digit values over the whole file, kept as fixed-width bytes (8 bytes) and an
int64 count: about 0.6 GB with the sort buffers, where Python dictionaries would need ~4 GB.

Output equals what the in-memory converter wrote when the file fits in one block: same
examples, same shard contents and order, same stats. With several blocks the training shards
are filled block by block (each block's training rows are permuted and dealt to the shards in
the numbers a uniform permutation of all training rows would give them: a multivariate
hypergeometric draw), so rows of a shard come in block order; the readers shuffle anyway.
"""
import gzip
import json
import math
import os
import time

import numpy as np
import tensorflow as tf

from input.atomic import atomic_dir, atomic_write_text
from input.converters import common
from input.specs import FeatureSpec, Schema
from input.writer import append_rows, shard_paths

BLOCK_BYTES = 8 << 20  # lines read (and parsed) at a time: ~35k Criteo rows, ~60 MB parsed
SLICE_ROWS = 20_000  # examples built (event logs: with padded sequences) and written at a time


def line_blocks(path, offset=0, first_line=1):
    """Yields (byte offset, number of the first line, lines as str) over a text file (gzip
    when it ends in .gz), read in blocks of whole lines; undecodable bytes are replaced.
    Blocks start at the same offsets every time the file is read from one of them."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        f.seek(offset)
        number = first_line
        while True:
            offset = f.tell()
            lines = f.readlines(BLOCK_BYTES)
            if not lines:
                return
            yield offset, number, [line.decode("utf-8", "replace") for line in lines]
            number += len(lines)


class ValueCounts:
    """Exact counts of the values of one column, added block by block.

    Values already known are counted in place (searchsorted); new ones wait in a buffer that
    is merged (one sort) when it grows to a quarter of the known values, so the total work is
    O(rows + distinct values x log) and the memory O(distinct values)."""

    def __init__(self):
        self.values, self.counts = None, np.zeros(0, np.int64)
        self.pending, self.pending_size = [], 0

    def add(self, raw, sign=1):
        raw = np.asarray(raw)
        if not len(raw):
            return
        if sign < 0 and self.pending:
            self._merge()  # every value subtracted must be found
        uniq, counts = np.unique(raw, return_counts=True)
        counts = counts.astype(np.int64) * sign
        if self.values is not None and len(self.values):
            at = np.searchsorted(self.values, uniq)
            found = at < len(self.values)
            found[found] = self.values[at[found]] == uniq[found]
            self.counts[at[found]] += counts[found]
            uniq, counts = uniq[~found], counts[~found]
        if len(uniq):
            if sign < 0:
                raise ValueError("subtracting values that were never added")
            self.pending.append((uniq, counts))
            self.pending_size += len(uniq)
            if self.values is None or self.pending_size > max(65_536, len(self.values) // 4):
                self._merge()

    def _merge(self):
        parts = ([] if self.values is None else [(self.values, self.counts)]) + self.pending
        self.pending, self.pending_size = [], 0
        if not parts:
            return
        values = np.concatenate([p[0] for p in parts])
        counts = np.concatenate([p[1] for p in parts])
        self.values, inverse = np.unique(values, return_inverse=True)
        self.counts = np.bincount(inverse.reshape(-1), weights=counts,
                                  minlength=len(self.values)).astype(np.int64)

    def vocab(self, min_count, missing=("",)):
        """(Vocab, Lookup) as `common.encode` builds them: ids by count, ties by value; values
        counted fewer than min_count times (or never, in the training rows) and missing ones
        are OOV."""
        self._merge()
        if self.values is None:
            return common.Vocab([""], min_count), Lookup(np.zeros(0, "S1"), np.zeros(0, int))
        ids, vocab = common.rank(self.values, self.counts, min_count, missing)
        return vocab, Lookup(self.values, ids)

    @property
    def nbytes(self):
        size = 0 if self.values is None else self.values.nbytes + self.counts.nbytes
        return size + sum(u.nbytes + c.nbytes for u, c in self.pending)


class Lookup:
    """Raw values -> vocabulary ids (0 for values it does not hold)."""

    def __init__(self, values, ids):
        self.values, self.ids = values, ids

    def __call__(self, raw):
        raw = np.asarray(raw)
        if not len(self.values):
            return np.zeros(len(raw), np.int64)
        at = np.minimum(np.searchsorted(self.values, raw), len(self.values) - 1)
        return np.where(self.values[at] == raw, self.ids[at], 0)


def moments(x):
    """(count, mean, sum of squared deviations) of a float64 array, as numpy's mean/std."""
    if not len(x):
        return 0, 0.0, 0.0
    mean = x.mean()
    return len(x), mean, float(np.sum((x - mean) ** 2))


def combine_moments(parts):
    """Chan et al.'s pairwise combination of `moments` of disjoint parts."""
    parts = [p for p in parts if p[0]]
    if len(parts) == 1:
        return parts[0]
    n, mean, m2 = 0, 0.0, 0.0
    for nb, mb, m2b in parts:
        total = n + nb
        delta = mb - mean
        mean += delta * nb / total
        m2 += m2b + delta * delta * n * nb / total
        n = total
    return n, mean, m2


def mean_std(m):
    """Mean and std of combined moments; 0 and 1 when there are no values (or no spread)."""
    n, mean, m2 = m
    if not n:
        return 0.0, 1.0
    std = math.sqrt(m2 / n)
    return float(mean), (std if std > 0 else 1.0)


class Split:
    """The time split of `common.time_split`, decided from the split key's histogram: test rows
    are those whose key is at or after the (1 - fraction) quantile ('higher'), or, when that
    leaves no training or no test rows, the last rows in order."""

    def __init__(self, key_counts, num_rows, fraction):
        """key_counts: the split key's ValueCounts, or None when the key is the row number."""
        self.cut, self.first_test_row, self.num_test = None, num_rows, 0  # no test rows
        if num_rows < 2:
            return
        k = int(np.ceil((num_rows - 1) * np.asarray(1 - fraction, np.float64)))
        if key_counts is None:  # file order: row k is the quantile
            self.cut, self.num_test = k, num_rows - k
            return
        key_counts._merge()
        keys, counts = key_counts.values, key_counts.counts
        at = int(np.searchsorted(np.cumsum(counts), k, side="right"))
        self.num_test = int(counts[at:].sum())
        if 0 < self.num_test < num_rows:
            self.cut = keys[at]
        else:
            self.first_test_row = num_rows - max(1, int(round(num_rows * fraction)))
            self.num_test = num_rows - self.first_test_row

    def test(self, key, rows):
        """Test mask of a block: its split keys and global row numbers."""
        if self.cut is not None:
            return np.asarray(key) >= self.cut
        return np.asarray(rows) >= self.first_test_row

    def touches(self, key_max, last_row):
        """Whether a block (its largest key, its last row number) holds test rows."""
        if self.cut is not None:
            return key_max >= self.cut
        return last_row >= self.first_test_row


def _bucket_keys(raw, log_numeric):
    if log_numeric:
        return common.log_buckets(raw)
    return np.where(np.isnan(raw), "", np.char.add("v", raw.astype(str)))


def _dense(raw, log_numeric, mean_and_std=None):
    """The value standardized (log1p first for Criteo); without statistics, the transformed
    non-missing values that the statistics are fitted on."""
    ok = ~np.isnan(raw)
    value = np.log1p(np.maximum(np.nan_to_num(raw, nan=0.0), 0.0)) if log_numeric else raw
    if mean_and_std is None:
        return value[ok]
    mean, std = mean_and_std
    return np.where(ok, (value - mean) / std, 0.0).astype(np.float32)


def write_ctr_stream(source, out_dir, *, min_count=1, hash_buckets=0, test_fraction=0.1,
                     embedding_dim=16, num_shards=0, seed=0, dataset="ctr", log=print,
                     malformed=None, extra_stats=None, report=None):
    """Converts `source` (a `ctr` reader: .path, .blocks(offset, line), .parse(lines, line,
    malformed), .categorical_names, .log_numeric, .has_time) into ranking/ (train/test
    TFRecords split by time or file order, schema.yaml), vocab/*.txt and stats.json,
    atomically. Categorical columns get vocabularies
    counted on the training rows with `min_count`, or with `hash_buckets` > 0 are stored as
    strings and hashed by the reader; numeric columns become a dense value standardized with
    the training rows' statistics and a bucket id."""
    what = source.what
    malformed = malformed or common.Malformed()
    # ---- pass 1: counts, split key histogram, per-block moments
    counts, key_counts, blocks = {}, ValueCounts(), []
    num_rows, num_numeric = 0, None
    progress = common.Progress(what, log)
    for offset, number, lines in source.blocks():
        chunk = source.parse(lines, number, malformed)
        n = len(chunk.label)
        if not n:
            continue
        key = chunk.time if source.has_time else num_rows + np.arange(n)
        if source.has_time:
            key_counts.add(key)
        block = {"offset": offset, "line": number, "first_row": num_rows, "rows": n,
                 "key_max": key.max(), "moments": {}}
        for name, raw in chunk.numeric.items():
            counts.setdefault(name + "_bucket", ValueCounts()).add(
                _bucket_keys(raw, source.log_numeric))
            block["moments"][name] = moments(_dense(raw, source.log_numeric))
        if not hash_buckets:
            for name, raw in chunk.categorical.items():
                counts.setdefault(name, ValueCounts()).add(raw)
        blocks.append(block)
        num_rows += n
        num_numeric = list(chunk.numeric)
        progress.tick(num_rows)
    progress.done(num_rows)
    if report:
        report()  # malformed rows, before the long passes
    extra_stats = {"malformed_rows": malformed.to_dict(), **(extra_stats or {})}
    if num_rows == 0:
        raise common.ConversionError(f"{dataset}: no valid rows to convert")
    split = Split(key_counts if source.has_time else None, num_rows, test_fraction)
    del key_counts
    # ---- pass 2: the blocks holding test rows: counts and moments of training rows only
    tail = [b for b in blocks if split.touches(b["key_max"], b["first_row"] + b["rows"] - 1)]
    if tail:
        log(f"  {what}: re-reading {len(tail)} of {len(blocks)} block(s) holding test rows "
            "(vocabularies count training rows only)")
    for block, chunk in _reread(source, tail):
        rows = block["first_row"] + np.arange(block["rows"])
        test = split.test(chunk.time if source.has_time else rows, rows)
        for name, raw in chunk.numeric.items():
            counts[name + "_bucket"].add(_bucket_keys(raw[test], source.log_numeric), sign=-1)
            block["moments"][name] = moments(_dense(raw[~test], source.log_numeric))
        if not hash_buckets:
            for name, raw in chunk.categorical.items():
                counts[name].add(raw[test], sign=-1)
    vocabs, lookups = {}, {}
    for name, c in counts.items():
        vocabs[name], lookups[name] = c.vocab(min_count)
    counts_bytes = sum(c.nbytes for c in counts.values())
    del counts
    fits = {name: mean_std(combine_moments([b["moments"][name] for b in blocks]))
            for name in num_numeric or []}
    # ---- schema (numeric: value and bucket; categorical; label; time)
    d = embedding_dim
    specs = []
    for name in num_numeric or []:
        specs.append(FeatureSpec(name, "dense", dtype="float32", group="context"))
        specs.append(FeatureSpec(name + "_bucket", "sparse",
                                 vocab_size=max(vocabs[name + "_bucket"].size, 2),
                                 embedding_dim=d, group="context"))
    for name in source.categorical_names:
        if hash_buckets:
            specs.append(FeatureSpec(name, "sparse", hash_buckets=hash_buckets, dtype="string",
                                     embedding_dim=d, group="context"))
        else:
            specs.append(FeatureSpec(name, "sparse", vocab_size=max(vocabs[name].size, 2),
                                     embedding_dim=d, group="context"))
    specs.append(FeatureSpec("click", "label", dtype="float32"))
    if source.has_time:
        specs.append(FeatureSpec("timestamp", "label", dtype="int64"))
    schema = Schema(specs)
    # ---- pass 3: write
    num_test = split.num_test
    num_train = num_rows - num_test
    if num_train == 0 or num_test == 0:
        raise common.ConversionError(f"ranking: the split left {num_train} training and "
                                     f"{num_test} test rows; the data is too small to split")
    shards = num_shards or common._num_shards(num_train)
    log(f"  writing ranking: {num_train:,} train rows in {shards} shard(s), {num_test:,} test "
        "rows")
    rng = np.random.default_rng(seed)
    label_sums = {"all": 0.0, "train": 0.0, "test": 0.0}
    oov = {name: [0, 0] for name in vocabs if not name.endswith("_bucket")}
    start = time.time()
    with atomic_dir(out_dir) as tmp:
        allow_open_files(shards + common._num_shards(num_test))
        writer = ShardWriter(os.path.join(tmp, "ranking"), schema, num_train, num_test, shards)
        try:
            progress = common.Progress("writing ranking", log)
            written = 0
            for block, chunk in _reread(source, blocks):
                rows = block["first_row"] + np.arange(block["rows"])
                test = split.test(chunk.time if source.has_time else rows, rows)
                cols = {}
                for name, raw in chunk.numeric.items():
                    cols[name] = _dense(raw, source.log_numeric, fits[name])
                    cols[name + "_bucket"] = lookups[name + "_bucket"](
                        _bucket_keys(raw, source.log_numeric))
                for name, raw in chunk.categorical.items():
                    if hash_buckets:
                        cols[name] = raw
                    else:
                        cols[name] = lookups[name](raw)
                        present = test & (raw != raw.dtype.type(""))
                        oov[name][0] += int((present & (cols[name] == 0)).sum())
                        oov[name][1] += int(present.sum())
                cols["click"] = chunk.label
                if source.has_time:
                    cols["timestamp"] = chunk.time
                label_sums["all"] += float(chunk.label.sum())
                label_sums["train"] += float(chunk.label[~test].sum())
                label_sums["test"] += float(chunk.label[test].sum())
                writer.add(~test, test, lambda positions: common._take(cols, positions), rng)
                written += block["rows"]
                progress.tick(written)
        finally:
            writer.close()
        writer.finish(log, start)
        stats = {"dataset": dataset, "rows": int(num_rows),
                 "label_rate": _rate(label_sums["all"], num_rows),
                 "vocab_sizes": {k: v.size for k, v in vocabs.items()}}
        if hash_buckets:
            stats["hash_buckets"] = hash_buckets
        stats.update(extra_stats)
        stats["test_oov_rate"] = {k: (o / n if n else 0.0) for k, (o, n) in oov.items()}
        stats["ranking"] = {"train_rows": num_train, "test_rows": num_test,
                            "dropped_shared_pairs": 0,
                            "train_label_rate": _rate(label_sums["train"], num_train),
                            "test_label_rate": _rate(label_sums["test"], num_test)}
        stats["memory"] = {"count_tables_mb": round(counts_bytes / 2**20, 1),
                           "blocks": len(blocks), "test_blocks_reread": len(tail)}
        common._write_vocabs(tmp, vocabs)
        atomic_write_text(os.path.join(tmp, "stats.json"), json.dumps(stats, indent=2))
    return stats


class ShardWriter:
    """The train and test shards of one folder, filled part by part (a block of lines, a
    bucket of users): each part's training rows permuted and dealt to the train shards (one
    part: exactly a global permutation), test rows in order into contiguous test shards."""

    def __init__(self, folder, schema, num_train, num_test, shards):
        os.makedirs(folder, exist_ok=True)
        self.folder, self.schema = folder, schema
        self.train_paths = shard_paths(folder, "train", shards)
        self.test_paths = shard_paths(folder, "test", common._num_shards(num_test))
        self.writers = [tf.io.TFRecordWriter(p) for p in self.train_paths + self.test_paths]
        self.left = np.diff(np.linspace(0, num_train, shards + 1).astype(int))
        self.test_bounds = np.linspace(0, num_test, len(self.test_paths) + 1).astype(int)
        self.counts = np.zeros(len(self.writers), np.int64)
        self.tests_done = 0

    def add(self, train, test, build, rng):
        """Writes a part: `train`/`test` are its row masks, build(positions) -> the
        columns of those rows."""
        mine = np.flatnonzero(train)
        mine = mine[rng.permutation(len(mine))]
        take = self.left.copy() if len(mine) == self.left.sum() else \
            rng.multivariate_hypergeometric(self.left, len(mine))
        self.left -= take
        for k, (lo, hi) in enumerate(zip(np.cumsum(take) - take, np.cumsum(take))):
            self._write(k, mine[lo:hi], build)
        mine = np.flatnonzero(test)
        shards = len(self.train_paths)
        for k in range(len(self.test_paths)):
            lo = max(self.test_bounds[k] - self.tests_done, 0)
            hi = min(self.test_bounds[k + 1] - self.tests_done, len(mine))
            if hi > lo:
                self._write(shards + k, mine[lo:hi], build)
        self.tests_done += len(mine)

    def _write(self, k, positions, build):
        for lo in range(0, len(positions), SLICE_ROWS):
            cols = build(positions[lo:lo + SLICE_ROWS])
            self.counts[k] += append_rows(self.schema, cols, self.writers[k])

    def close(self):
        for w in self.writers:
            w.close()

    def finish(self, log, start):
        name = os.path.basename(self.folder)
        for path, count in zip(self.train_paths + self.test_paths, self.counts.tolist()):
            log(f"    {name}/{os.path.basename(path)}: {count:,} rows "
                f"({time.time() - start:.0f}s)")
        self.schema.save(os.path.join(self.folder, "schema.yaml"))


def allow_open_files(count):
    """Raises the soft limit of open files (up to the hard one) so `count` shard writers can
    stay open: every block deals training rows to every shard."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = count + 256
    if soft != resource.RLIM_INFINITY and soft < need:
        limit = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
        if limit < need:
            raise common.ConversionError(
                f"writing {count} shards needs {need} open files; the limit is {hard}: pass a "
                "smaller --num_shards or raise `ulimit -n`")


def _rate(label_sum, n):
    """The label mean as numpy's float32 mean gives it (for 0/1 labels)."""
    return float(np.float32(label_sum) / np.float32(n)) if n else 0.0


def _reread(source, blocks):
    """(block, parsed chunk) for the given blocks (in file order), read again from disk."""
    if not blocks:
        return
    wanted = {b["offset"]: b for b in blocks}
    first = blocks[0]
    for offset, number, lines in source.blocks(first["offset"], first["line"]):
        block = wanted.get(offset)
        if block is None:
            continue
        chunk = source.parse(lines, number, common.Malformed())  # counted in pass 1
        if len(chunk.label) != block["rows"]:
            raise common.ConversionError(f"{source.path} changed while being converted")
        yield block, chunk
