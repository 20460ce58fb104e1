"""Shared logic of the dataset converters, vectorized numpy.

A converter reads its raw files into either
- `Events` (one row per user-item interaction: MovieLens, Amazon, Taobao, CSV logs; a reader
  may yield them in chunks), which `event_stream.write_event_stream` turns into `ranking/`
  (time split, histories before each event) and `retrieval/` (leave-last-out per user,
  session and long-term sequences), bucket by bucket of users; or
- a CTR source (one row per impression with categorical and dense fields: Criteo, Avazu),
  which `stream.write_ctr_stream` turns into `ranking/` (time split), streaming the file.

Ids: vocabularies are built by frequency (id 1 = most frequent value, 0 = padding/OOV);
values seen fewer than `min_count` times and missing values map to 0. Vocabularies count the
training part only, so no test value leaks into them: the rows before the test period (CTR),
the events before the ranking split's cut time (event logs; stats.json's
`vocabulary_cut_time`). Test values unseen in training are OOV; stats.json reports each
feature's test OOV rate. Dense statistics (mean, std) are fitted on the training rows only.

Time: histories hold only events strictly before the example's time (events sharing a
timestamp never see each other), so no example sees its own future. Sessions start after more
than 30 idle minutes. Train and test never share a (user, target item) pair: training rows
with a pair that is in the test set are dropped (and counted in stats.json).
"""
import dataclasses
import os
import time

import numpy as np

from input.atomic import atomic_write_text

SESSION_GAP_SECONDS = 30 * 60
OOV = 0


class ConversionError(ValueError):
    """Raw data that cannot be converted as given (names the file or option)."""


class Malformed:
    """Counts rows that could not be parsed, keeping the first few for the report."""

    def __init__(self, keep=5):
        self.count, self.examples, self.keep = 0, [], keep

    def add(self, where, reason):
        self.count += 1
        if len(self.examples) < self.keep:
            self.examples.append(f"{where}: {reason}")

    def extend(self, other):
        """Adds another counter's rows after this one's (a side file read separately)."""
        self.count += other.count
        self.examples += other.examples[:max(0, self.keep - len(self.examples))]

    def to_dict(self):
        return {"count": self.count, "first": self.examples}


class Progress:
    """Prints a line every `every` rows (and at the end) while reading a file."""

    def __init__(self, what, log=print, every=500_000):
        self.what, self.log, self.every = what, log, every
        self.start, self.next = time.time(), every

    def tick(self, rows):
        if rows >= self.next:
            self.next += self.every
            self.log(f"  {self.what}: {rows:,} rows ({time.time() - self.start:.0f}s)")

    def done(self, rows):
        self.log(f"  {self.what}: {rows:,} rows in {time.time() - self.start:.1f}s")


class Columns:
    """Parsed rows gathered column by column and compacted into numpy arrays every `chunk`
    rows, so a file of tens of millions of rows is not held as Python objects: strings are
    kept as UTF-8 bytes (1 byte per character instead of a Python str or numpy's 4)."""

    CHUNK = 262_144

    def __init__(self, kinds, chunk=CHUNK):
        self.kinds = kinds  # column -> "bytes" | "float" | "int"
        self.chunk = chunk
        self.pending = {name: [] for name in kinds}
        self.done = {name: [] for name in kinds}
        self.rows = 0

    def append(self, values):
        for name, value in zip(self.kinds, values):
            self.pending[name].append(value)
        self.rows += 1
        if self.rows % self.chunk == 0:
            self._flush()

    def _flush(self):
        for name, kind in self.kinds.items():
            part = self.pending[name]
            if kind == "bytes":
                array = np.array([v.encode("utf-8") for v in part], dtype="S")
            else:
                array = np.array(part, np.float64 if kind == "float" else np.int64)
            self.done[name].append(array)
            self.pending[name] = []

    def arrays(self):
        self._flush()
        out = {}
        for name, kind in self.kinds.items():
            parts = [p for p in self.done[name] if len(p)]
            empty = np.zeros(0, "S1" if kind == "bytes" else
                             (np.float64 if kind == "float" else np.int64))
            out[name] = np.concatenate(parts) if parts else empty
        return out


# ---------------------------------------------------------------- vocabularies and buckets

@dataclasses.dataclass
class Vocab:
    """Raw values by id (index 0 is the OOV/padding row, written as an empty line)."""
    values: list
    min_count: int

    @property
    def size(self):
        return len(self.values)


def encode(raw, min_count=1, missing=("",)):
    """(ids [N] int64, Vocab) for an array of raw values (strings or ints).

    Ids are frequency ranks (1 = most frequent; ties by value); values seen fewer than
    `min_count` times and `missing` values become 0.
    """
    uniq, inverse, counts = np.unique(np.asarray(raw), return_inverse=True, return_counts=True)
    ids, vocab = rank(uniq, counts, min_count, missing)
    return ids[inverse.reshape(-1)], vocab


def rank(uniq, counts, min_count=1, missing=("",)):
    """(ids [U] int64, Vocab) for sorted distinct values `uniq` seen `counts` times: ids are
    frequency ranks (1 = most frequent; ties by value); values seen fewer than `min_count`
    times and `missing` values get 0."""
    keep = counts >= max(min_count, 1)
    if missing and uniq.dtype.kind in "US":
        marks = [m.encode() for m in missing] if uniq.dtype.kind == "S" else list(missing)
        keep &= ~np.isin(uniq, np.asarray(marks, dtype=uniq.dtype))
    order = np.lexsort((np.arange(len(uniq)), -counts))  # by count, then value
    order = order[keep[order]]
    ids = np.zeros(len(uniq), np.int64)
    ids[order] = np.arange(1, len(order) + 1)
    return ids, Vocab([""] + [_plain(v) for v in uniq[order]], min_count)


def _plain(value):
    value = value.item() if hasattr(value, "item") else value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def log_buckets(values):
    """Criteo's integer features -> bucket keys: floor(log(v)^2) above 2, v itself up to 2
    (the Criteo winners' transform); NaN (missing) -> "" (OOV)."""
    v = np.asarray(values, np.float64)
    out = np.full(len(v), "", dtype=object)
    ok = ~np.isnan(v)
    big = ok & (v > 2)
    out[big] = np.char.add("l", np.floor(np.log(v[big]) ** 2).astype(np.int64).astype(str))
    small = ok & ~big
    out[small] = np.char.add("v", np.floor(v[small]).astype(np.int64).astype(str))
    return out.astype(str)


# ---------------------------------------------------------------- splits and sequences

def time_split(times, test_fraction):
    """Boolean test mask: rows at or after the (1 - test_fraction) quantile of time. When that
    would leave no training rows (all at one time), the last rows in order are the test."""
    times = np.asarray(times)
    n = len(times)
    if n < 2:
        return np.zeros(n, bool)
    cut = np.quantile(times, 1 - test_fraction, method="higher")
    test = times >= cut
    if test.all() or not test.any():
        test = np.zeros(n, bool)
        test[n - max(1, int(round(n * test_fraction))):] = True
    return test


def run_starts(keys):
    """For rows sorted so equal keys are adjacent: index of the first row of each row's run.
    `keys` is a list of arrays compared together."""
    n = len(keys[0])
    new = np.ones(n, bool)
    if n > 1:
        change = np.zeros(n - 1, bool)
        for k in keys:
            change |= k[1:] != k[:-1]
        new[1:] = change
    return np.maximum.accumulate(np.where(new, np.arange(n), 0))


def session_starts(users, times, gap=SESSION_GAP_SECONDS):
    """For events sorted by user and time: index of the first event of each event's session
    (more than `gap` idle seconds start a new one)."""
    n = len(users)
    new = np.ones(n, bool)
    if n > 1:
        new[1:] = (users[1:] != users[:-1]) | (times[1:] - times[:-1] > gap)
    return np.maximum.accumulate(np.where(new, np.arange(n), 0))


def windows(values, start, end, length):
    """values[start:end] per row, the most recent `length` of them, oldest first, as
    (padded [N, length], lengths [N])."""
    start, end = np.asarray(start), np.asarray(end)
    begin = np.maximum(start, end - length)
    lengths = np.maximum(end - begin, 0)
    idx = begin[:, None] + np.arange(length)[None, :]
    valid = np.arange(length)[None, :] < lengths[:, None]
    if len(values) == 0:
        return np.zeros((len(start), length), np.int64), lengths
    padded = np.where(valid, values[np.where(valid, idx, 0)], 0)
    return padded, lengths


def session_ranks(session, start, end, length):
    """For the history windows of `windows(values, start, end, length)`: each event's session
    counted back from the most recent one in the window (1 = the latest session; 0: padding),
    as (padded [N, length], lengths [N]). `session` is session_starts' output."""
    number = np.cumsum(session == np.arange(len(session)))  # 1, 2, ... per new session
    padded, lengths = windows(number, start, end, length)
    last = padded[np.arange(len(padded)), np.maximum(lengths - 1, 0)]
    valid = np.arange(length)[None, :] < lengths[:, None]
    return np.where(valid, last[:, None] - padded + 1, 0), lengths


def last_per_user(users):
    """For events sorted by user: True at each user's last event, if the user has >= 2."""
    n = len(users)
    last = np.ones(n, bool)
    last[:-1] = users[1:] != users[:-1]
    first = np.ones(n, bool)
    first[1:] = users[1:] != users[:-1]
    return last & ~first


def drop_shared_pairs(users, items, test):
    """Training mask without the rows whose (user, item) pair is also in the test set."""
    key = users.astype(np.int64) * (int(items.max(initial=0)) + 1) + items.astype(np.int64)
    shared = np.isin(key, key[test]) & ~test
    return ~test & ~shared, int(shared.sum())


# ---------------------------------------------------------------- event logs

@dataclasses.dataclass
class Events:
    """Interactions, one row each; raw values (strings or ints), not yet ids.

    label: the ranking label per event, or None for implicit feedback (each event is then a
      positive and one sampled item a negative, as in DIN).
    user_features / item_features: categorical side information per event (a user's or item's
      first row gives its value). item_multi: multi-valued item features, "|"-joined strings.
    item_dense: numeric item features (NaN = missing).
    extra_labels: more ranking labels per event (float32; 0 on sampled negatives), e.g. a
      conversion for multi-task models.
    """
    user: np.ndarray
    item: np.ndarray
    time: np.ndarray
    label: np.ndarray = None
    user_features: dict = dataclasses.field(default_factory=dict)
    item_features: dict = dataclasses.field(default_factory=dict)
    item_multi: dict = dataclasses.field(default_factory=dict)
    item_dense: dict = dataclasses.field(default_factory=dict)
    extra_labels: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class EventOptions:
    min_count: int = 1  # users and items
    side_min_count: int = 1  # side features
    hist_len: int = 50
    short_len: int = 10
    long_len: int = 50
    test_fraction: float = 0.1  # ranking: the last share of time
    embedding_dim: int = 16
    num_shards: int = 0  # 0: one shard per 200,000 rows
    seed: int = 0
    families: tuple = ("ranking", "retrieval")


def _multi_ids(table_raw, min_count):
    """'a|b|c' strings per item -> (list of id arrays, Vocab)."""
    parts = [s.split("|") if s else [] for s in table_raw.tolist()]
    flat = np.array([p for row in parts for p in row] or [""], dtype=str)
    ids, vocab = encode(flat, min_count)
    out, pos = [], 0
    for row in parts:
        out.append(ids[pos:pos + len(row)][ids[pos:pos + len(row)] > 0])
        pos += len(row)
    return out, vocab


def _sample_negatives(rng, items, vocab_size):
    """For each positive item, a uniformly drawn other item id in [1, vocab_size)."""
    num = vocab_size - 1
    if num < 2:
        raise ConversionError("negative sampling needs at least 2 items in the vocabulary")
    shift = rng.integers(1, num, len(items))
    base = np.where(items > 0, items - 1, rng.integers(0, num, len(items)))
    return (base + shift) % num + 1


def _num_shards(rows, per_shard=200_000):
    return max(1, -(-rows // per_shard))


def _take(cols, rows):
    out = {}
    for name, value in cols.items():
        if isinstance(value, tuple):
            out[name] = tuple(v[rows] for v in value)
        elif isinstance(value, list):
            out[name] = [value[i] for i in rows.tolist()]
        else:
            out[name] = value[rows]
    return out


def _write_vocabs(folder, vocabs):
    """vocab/<feature>.txt: line i is the raw value of id i (line 0, OOV/padding, empty)."""
    os.makedirs(os.path.join(folder, "vocab"), exist_ok=True)
    for name, vocab in vocabs.items():
        text = "\n".join(str(v).replace("\n", " ") for v in vocab.values) + "\n"
        atomic_write_text(os.path.join(folder, "vocab", f"{name}.txt"), text)


def read_vocab(path):
    """Raw values by id from a vocab/<feature>.txt file (index 0 is OOV)."""
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")[:-1]


# ---------------------------------------------------------------- reading raw files

def open_text(path, encoding="utf-8"):
    """A text file, gzip-compressed when it ends in .gz; undecodable bytes are replaced."""
    if path.endswith(".gz"):
        import gzip
        return gzip.open(path, "rt", encoding=encoding, errors="replace", newline="")
    return open(path, encoding=encoding, errors="replace", newline="")


def find_file(raw_dir, candidates, dataset):
    """The first of `candidates` (names, tried with and without .gz) in raw_dir; raw_dir may
    itself be the file."""
    if os.path.isfile(raw_dir):
        return raw_dir
    if not os.path.isdir(raw_dir):
        raise ConversionError(f"--raw_dir={raw_dir}: no such file or folder")
    for name in candidates:
        for path in (os.path.join(raw_dir, name), os.path.join(raw_dir, name + ".gz")):
            if os.path.isfile(path):
                return path
    raise ConversionError(f"--dataset={dataset}: --raw_dir={raw_dir} holds none of "
                          f"{list(candidates)}")


def to_int(text):
    """int of a decimal string that may be written as a float ("260.0"); ValueError if not."""
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not np.isfinite(value) or value != int(value):
            raise ValueError(f"not an integer: {text!r}") from None
        return int(value)


def to_float(text):
    """float, with "" (missing) as NaN; ValueError for other non-numbers."""
    if text == "":
        return float("nan")
    value = float(text)
    if not np.isfinite(value):
        raise ValueError(f"not a finite number: {text!r}")
    return value
