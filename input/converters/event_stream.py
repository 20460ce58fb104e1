"""Event logs (MovieLens, Amazon, Taobao, CSV, TFDS) -> ranking/ and retrieval/, in memory
bounded by the largest bucket of users plus the vocabularies.

Histories need each user's events in time order, so the events are partitioned by user:

1. read: the reader's chunks of `Events` go to `num_buckets` temporary files by a hash of the
   raw user (under the output's temporary folder, removed at the end), while the histogram of
   times is counted. A log of at most `MAX_EVENTS_IN_MEMORY` events stays in memory as one
   bucket (no files); more buckets change only the order of the rows and the sampled
   negatives' draws.
2. vocabularies: bucket by bucket, users and items are counted on the training period (events
   before the ranking split's cut time) and each user's / item's first row (its side features)
   is kept.
3. plan: bucket by bucket, the examples are built (without their sequences) to count the
   training and test rows of each family and fit the dense statistics on the training rows.
4. write: bucket by bucket again, the examples are built with their histories and written to
   the shards in slices of `stream.SLICE_ROWS`.

Each bucket's events are sorted by user, time and input order; every per-user computation
(histories, sessions, leave-last-out, dropping (user, item) pairs shared by train and test) is
within one bucket, by raw user: users outside the vocabulary share the OOV id but keep their
own histories. With several buckets the order of rows changes (test rows come bucket by
bucket; training rows are dealt to the shards block by block, in the numbers a uniform
permutation would give, as `stream.write_ctr_stream` does) and the sampled negatives differ
(each bucket draws from its own generator, seeded by --seed and the bucket), so the same
--seed still reproduces the same output.
"""
import json
import os
import pickle
import shutil
import time
import zlib

import numpy as np

from input.atomic import atomic_dir, atomic_write_text
from input.converters import common, stream
from input.converters.common import (ConversionError, drop_shared_pairs, last_per_user,
                                     run_starts, session_ranks, session_starts, time_split,
                                     windows)
from input.specs import FeatureSpec, Schema

MAX_EVENTS_IN_MEMORY = 2_000_000  # more events are spilled to bucket files
DEFAULT_BUCKETS = 64  # ~1.6M events a bucket for Taobao's 100M


def _columns(events, first_index):
    """An Events chunk as a flat dict of numpy arrays (`index`: the global input order)."""
    n = len(events.user)
    cols = {"user": np.asarray(events.user), "item": np.asarray(events.item),
            "time": np.asarray(events.time, np.int64),
            "index": first_index + np.arange(n, dtype=np.int64)}
    if events.label is not None:
        cols["label"] = np.asarray(events.label, np.float32)
    for prefix, table in (("x:", events.extra_labels), ("u:", events.user_features),
                          ("i:", events.item_features), ("m:", events.item_multi),
                          ("d:", events.item_dense)):
        for name, values in table.items():
            cols[prefix + name] = np.asarray(values)
    return cols


def _names(cols, prefix):
    return [k[len(prefix):] for k in cols if k.startswith(prefix)]


class Buckets:
    """Events grouped by user: in memory while they are few, else in files by hash(user)."""

    def __init__(self, folder, num_buckets):
        self.folder, self.num_buckets = folder, num_buckets
        self.memory, self.files, self.rows = [], None, 0
        self.sample = None  # the first event added (its columns name the features)

    def __len__(self):
        return 1 if self.files is None else len(self.files)

    def add(self, cols):
        self.rows += len(cols["user"])
        if self.sample is None:
            self.sample = {k: v[:1] for k, v in cols.items()}
        if self.files is None:
            self.memory.append(cols)
            if self.rows > MAX_EVENTS_IN_MEMORY:
                self._spill()
        else:
            self._write(cols)

    def _spill(self):
        os.makedirs(self.folder, exist_ok=True)
        self.paths = [os.path.join(self.folder, f"bucket-{b:04d}.pkl")
                      for b in range(self.num_buckets)]
        self.files = [open(p, "wb") for p in self.paths]
        memory, self.memory = self.memory, []
        for cols in memory:
            self._write(cols)

    def _write(self, cols):
        uniq, inverse = np.unique(cols["user"], return_inverse=True)
        if uniq.dtype.kind in "iu":  # integer ids (Taobao): a multiplicative hash
            hashes = ((uniq.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
                      >> np.uint64(40)).astype(np.int64)
        else:
            hashes = np.array([zlib.crc32(str(u).encode("utf-8")) for u in uniq.tolist()],
                              np.int64)
        bucket = (hashes % len(self.files))[inverse.reshape(-1)]
        order = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[order], np.arange(len(self.files) + 1))
        for b, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
            if hi > lo:
                take = order[lo:hi]
                pickle.dump({k: v[take] for k, v in cols.items()}, self.files[b],
                            protocol=pickle.HIGHEST_PROTOCOL)

    def close(self):
        for f in self.files or []:
            f.close()

    def load(self, b):
        """Every event of bucket b, as one dict of arrays."""
        if self.files is None:
            parts = self.memory
        else:
            parts = []
            with open(self.paths[b], "rb") as f:
                while True:
                    try:
                        parts.append(pickle.load(f))
                    except EOFError:
                        break
        if not parts:
            return None
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def remove(self):
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class FirstRows:
    """Per raw key (user or item): the values of its first row in input order, merged bucket
    by bucket (O(distinct keys))."""

    def __init__(self):
        self.keys, self.index, self.values = None, None, {}

    def add(self, keys, index, values):
        if self.keys is not None:
            keys = np.concatenate([self.keys, keys])
            index = np.concatenate([self.index, index])
            values = {k: np.concatenate([self.values[k], v]) for k, v in values.items()}
        order = np.lexsort((index, keys))
        ordered = keys[order]
        first = np.ones(len(order), bool)
        first[1:] = ordered[1:] != ordered[:-1]
        take = order[first]
        self.keys, self.index = keys[take], index[take]
        self.values = {k: v[take] for k, v in values.items()}

    def table(self, name, lookup, size, fill):
        """Per vocabulary id, the first value of its key (index 0, OOV: `fill`)."""
        values = self.values[name]
        if values.dtype.kind in "US":
            table = np.full(size, fill, dtype=object)
        else:  # integer ids (Taobao's categories) or numbers
            table = np.full(size, 0 if fill == "" else fill, dtype=values.dtype)
        ids = lookup(self.keys)
        table[ids[ids > 0]] = values[ids > 0]
        return table


class _Family:
    def __init__(self, rows, cand, label, extra, test, train, dropped):
        self.rows, self.cand, self.label, self.extra = rows, cand, label, extra
        self.test, self.train, self.dropped = test, train, dropped


def write_event_stream(chunks, out_dir, options, dataset, log=print, extra_stats=None,
                       malformed=None, report=None, num_buckets=0):
    """Encodes, splits and writes ranking/ and retrieval/ (as `options.families` asks) with
    schema.yaml, vocab/*.txt and stats.json into `out_dir`, atomically. `chunks`: Events, or
    an iterable of Events chunks (read lazily: a reader may stream its file)."""
    o = options
    if isinstance(chunks, common.Events):
        chunks = [chunks]
    with atomic_dir(out_dir) as tmp:
        buckets = Buckets(os.path.join(tmp, ".buckets"), num_buckets or DEFAULT_BUCKETS)
        try:
            stats = _convert(chunks, buckets, tmp, o, dataset, log, extra_stats,
                             malformed or common.Malformed(), report)
        finally:
            buckets.remove()
    return stats


def _convert(chunks, buckets, tmp, o, dataset, log, extra_stats, malformed, report):
    # ---- 1. read: bucket the events, count times
    time_counts, n = stream.ValueCounts(), 0
    for events in chunks:
        cols = _columns(events, n)
        if len(cols["user"]):
            time_counts.add(cols["time"])
            buckets.add(cols)
            n += len(cols["user"])
    buckets.close()
    if report:
        report()  # malformed rows, before the long passes
    extra_stats = {"malformed_rows": malformed.to_dict(), **(extra_stats or {})}
    if n == 0:
        raise ConversionError(f"{dataset}: no valid events to convert")
    if len(buckets) > 1:
        log(f"  {n:,} events in {len(buckets)} bucket files by user")
    first = buckets.load(0) if len(buckets) == 1 else None
    sample = buckets.sample
    implicit = "label" not in sample
    user_names, item_names = _names(sample, "u:"), _names(sample, "i:")
    multi_names, dense_names = _names(sample, "m:"), _names(sample, "d:")
    extra_names = _names(sample, "x:")
    # The ranking split's cut: implicit feedback doubles every event (positive, negative).
    if implicit:
        time_counts._merge()
        time_counts.counts = time_counts.counts * 2
    cut = stream.Split(time_counts, 2 * n if implicit else n, o.test_fraction).cut
    # ---- 2. vocabularies on the training period, first rows
    user_counts, item_counts = stream.ValueCounts(), stream.ValueCounts()
    user_first, item_first = FirstRows(), FirstRows()
    label_sum = 0.0
    for b in range(len(buckets)):
        ev = first if first is not None else buckets.load(b)
        if ev is None:
            continue
        train = ev["time"] < cut if cut is not None else np.ones(len(ev["time"]), bool)
        user_counts.add(ev["user"][train])
        item_counts.add(ev["item"][train])
        if user_names:
            user_first.add(ev["user"], ev["index"], {k: ev["u:" + k] for k in user_names})
        if item_names or multi_names or dense_names:
            item_first.add(ev["item"], ev["index"],
                           {**{"i:" + k: ev["i:" + k] for k in item_names},
                            **{"m:" + k: ev["m:" + k] for k in multi_names},
                            **{"d:" + k: ev["d:" + k] for k in dense_names}})
        if not implicit:
            label_sum += float(ev["label"].sum())
    ctx = _Context(o, cut, implicit)
    user_vocab, ctx.user_lookup = user_counts.vocab(o.min_count)
    item_vocab, ctx.item_lookup = item_counts.vocab(o.min_count)
    del user_counts, item_counts
    ctx.item_size = item_vocab.size
    vocabs = {"user_id": user_vocab, "item_id": item_vocab}
    for name in user_names:
        table = user_first.table(name, ctx.user_lookup, user_vocab.size, "")
        ids, vocabs[name] = common.encode(table[1:].astype(str), o.side_min_count)
        ctx.user_side[name] = np.concatenate([[0], ids])
    for name in item_names:
        table = item_first.table("i:" + name, ctx.item_lookup, item_vocab.size, "")
        ids, vocabs[name] = common.encode(table[1:].astype(str), o.side_min_count)
        ctx.item_side[name] = np.concatenate([[0], ids])
    for name in multi_names:  # an OOV item has none
        table = item_first.table("m:" + name, ctx.item_lookup, item_vocab.size, "")
        ctx.item_multi[name], vocabs[name] = common._multi_ids(table.astype(str),
                                                               o.side_min_count)
    for name in dense_names:  # an OOV item's value is missing
        ctx.item_dense[name] = item_first.table("d:" + name, ctx.item_lookup,
                                                item_vocab.size, np.nan).astype(np.float64)
    del user_first, item_first
    stats = {"dataset": dataset, "events": int(n), "users": user_vocab.size - 1,
             "items": item_vocab.size - 1,
             "vocab_sizes": {k: v.size for k, v in vocabs.items()}}
    if not implicit:
        stats["label_rate"] = stream._rate(label_sum, n)
    stats.update(extra_stats)
    # Vocabularies: the ranking training period, events before this time (None: all events
    # share one time and the split is by order, so every event counts).
    stats["vocabulary_cut_time"] = None if cut is None else int(cut)
    log(f"  {n:,} events, {stats['users']:,} users, {stats['items']:,} items")
    # ---- 3. plan: rows per family, dense statistics on training rows
    plan = {f: {"train": 0, "test": 0, "dropped": 0, "train_users": 0, "train_label": 0.0,
                "test_label": 0.0, "oov_targets": 0, "test_oov_users": 0, "test_oov_items": 0,
                "moments": {k: [] for k in dense_names}} for f in o.families}
    for b, ev in _buckets(buckets, first):
        groups, families = _prepare(ev, ctx, _rng(o.seed, b, len(buckets)))
        for name, fam in families.items():
            p = plan[name]
            p["train"] += int(fam.train.sum())
            p["test"] += int(fam.test.sum())
            p["dropped"] += fam.dropped
            p["train_users"] += len(np.unique(groups["ukeys"][fam.rows][fam.train]))
            if fam.label is not None:
                p["train_label"] += float(fam.label[fam.train].sum())
                p["test_label"] += float(fam.label[fam.test].sum())
            p["oov_targets"] += getattr(fam, "oov_targets", 0)
            p["test_oov_users"] += int((groups["users"][fam.rows][fam.test] == 0).sum())
            p["test_oov_items"] += int((fam.cand[fam.test] == 0).sum())
            for k in dense_names:
                values = stream._dense(ctx.item_dense[k][fam.cand[fam.train]], False)
                p["moments"][k].append(stream.moments(values))
    for name, p in plan.items():
        if p["train"] == 0 or p["test"] == 0:
            raise ConversionError(f"{name}: the split left {p['train']} training and "
                                  f"{p['test']} test rows; the data is too small to split")
        ctx.dense_fit[name] = {k: stream.mean_std(stream.combine_moments(p["moments"][k]))
                               for k in dense_names}
    schemas = _schemas(ctx, vocabs, user_names, item_names, extra_names, o)
    # ---- 4. write
    writers = {}
    stream.allow_open_files(sum(  # both families' shards are open at once
        (o.num_shards or common._num_shards(plan[f]["train"])) + common._num_shards(
            plan[f]["test"]) for f in o.families))
    for name in o.families:
        p = plan[name]
        shards = o.num_shards or common._num_shards(p["train"])
        writers[name] = stream.ShardWriter(os.path.join(tmp, name), schemas[name],
                                            p["train"], p["test"], shards)
        log(f"  writing {name}: {p['train']:,} train rows in {shards} shard(s), "
            f"{p['test']:,} test rows")
    deal_rng = np.random.default_rng([o.seed, len(buckets)])
    start = time.time()
    progress = common.Progress("writing", log)
    done = largest = 0
    try:
        for b, ev in _buckets(buckets, first):
            largest = max(largest, len(ev["user"]))
            rng = _rng(o.seed, b, len(buckets))
            groups, families = _prepare(ev, ctx, rng)
            for name, fam in families.items():
                build = lambda rows, name=name, fam=fam: _family_columns(  # noqa: E731
                    name, groups, fam, rows, ctx)
                writers[name].add(fam.train, fam.test, build,
                                  rng if len(buckets) == 1 else deal_rng)
            done += len(ev["user"])
            progress.tick(done)
    finally:
        for w in writers.values():
            w.close()
    for name in o.families:
        writers[name].finish(log, start)
        p = plan[name]
        out = {"train_rows": p["train"], "test_rows": p["test"],
               "dropped_shared_pairs": p["dropped"], "train_users": p["train_users"]}
        if name == "ranking":
            out["train_label_rate"] = stream._rate(p["train_label"], p["train"])
            out["test_label_rate"] = stream._rate(p["test_label"], p["test"])
            out["test_oov_rate"] = {"user_id": p["test_oov_users"] / p["test"],
                                    "item_id": p["test_oov_items"] / p["test"]}
        else:
            out["oov_targets"] = p["oov_targets"]
        stats[name] = out
    stats["memory"] = {"buckets": len(buckets), "largest_bucket_events": largest}
    common._write_vocabs(tmp, vocabs)
    atomic_write_text(os.path.join(tmp, "stats.json"), json.dumps(stats, indent=2))
    return stats


def _buckets(buckets, first):
    for b in range(len(buckets)):
        ev = first if first is not None else buckets.load(b)
        if ev is not None:
            yield b, ev


def _rng(seed, bucket, num_buckets):
    """One bucket: the former converter's generator; else one per bucket."""
    return np.random.default_rng(seed if num_buckets == 1 else [seed, bucket])


class _Context:
    """What every bucket needs: the cut, vocabulary lookups and per-id side tables."""

    def __init__(self, options, cut, implicit):
        self.o, self.cut, self.implicit = options, cut, implicit
        self.user_side, self.item_side, self.item_multi, self.item_dense = {}, {}, {}, {}
        self.dense_fit = {}


def _prepare(ev, ctx, rng):
    """Sorts a bucket's events by user, time and input order and builds each family's rows,
    labels and train/test masks (no sequences yet)."""
    o = ctx.o
    user_ids, item_ids = ctx.user_lookup(ev["user"]), ctx.item_lookup(ev["item"])
    ukey = np.unique(ev["user"], return_inverse=True)[1].reshape(-1)  # OOV users stay apart
    order = np.lexsort((ev["index"], ev["time"], ukey, user_ids))
    ukeys, items, times = ukey[order], item_ids[order], ev["time"][order]
    g = {"users": user_ids[order], "ukeys": ukeys, "items": items, "times": times,
         "user_start": run_starts([ukeys]),
         "same_time": run_starts([ukeys, times]),  # history ends before same-time events
         "session": session_starts(ukeys, times)}  # the current session: here to same_time
    families = {}
    if "ranking" in o.families:
        n = len(items)
        index = np.arange(n)
        extra_labels = {k[2:]: ev[k][order].astype(np.float32) for k in ev if k[:2] == "x:"}
        if ctx.implicit:  # one positive, one sampled negative
            negatives = common._sample_negatives(rng, items, ctx.item_size)
            rows = np.concatenate([index, index])
            cand = np.concatenate([items, negatives])
            label = np.concatenate([np.ones(n), np.zeros(n)]).astype(np.float32)
            extra = {k: np.concatenate([v, np.zeros(n, np.float32)])
                     for k, v in extra_labels.items()}
        else:
            rows, cand, label = index, items, ev["label"][order]
            extra = extra_labels
        if ctx.cut is not None:
            test = times[rows] >= ctx.cut
        else:  # all events at one time: the last rows of the bucket
            test = time_split(times[rows], o.test_fraction)
        train, dropped = drop_shared_pairs(ukeys[rows], cand, test)
        families["ranking"] = _Family(rows, cand, label, extra, test, train, dropped)
    if "retrieval" in o.families:
        known = items > 0  # an OOV item cannot be a retrieval target
        rows = np.flatnonzero(known)
        test = last_per_user(ukeys[rows])
        train, dropped = drop_shared_pairs(ukeys[rows], items[rows], test)
        fam = _Family(rows, items[rows], None, {}, test, train, dropped)
        fam.oov_targets = int((~known).sum())
        families["retrieval"] = fam
    return g, families


def _family_columns(name, g, fam, positions, ctx):
    """The examples at `positions` of a family, with their sequences, as writer columns."""
    o = ctx.o
    r, cand = fam.rows[positions], fam.cand[positions]
    items, start, same, session = g["items"], g["user_start"], g["same_time"], g["session"]

    def seq(prefix, padded, lengths):
        cols = {prefix + "item_id": (padded, lengths)}
        for k, table in ctx.item_side.items():
            cols[prefix + k] = (table[padded], lengths)
        return cols

    u = g["users"][r]
    cols = {"user_id": u, **{k: v[u] for k, v in ctx.user_side.items()},
            "item_id": cand, **{k: v[cand] for k, v in ctx.item_side.items()}}
    if name == "ranking":
        cols.update(seq("hist_", *windows(items, start[r], same[r], o.hist_len)))
        cols.update(seq("short_", *windows(items, session[r], same[r], o.short_len)))
        cols.update(seq("long_", *windows(items, start[r], session[r], o.long_len)))
        cols["hist_session_id"] = session_ranks(session, start[r], same[r], o.hist_len)
        cols["click"] = fam.label[positions]
        cols.update({k: v[positions] for k, v in fam.extra.items()})
    else:
        cols.update(seq("short_", *windows(items, session[r], same[r], o.short_len)))
        cols.update(seq("long_", *windows(items, start[r], session[r], o.long_len)))
        cols.update(seq("hist_", *windows(items, start[r], same[r], o.hist_len)))
    cols["timestamp"] = g["times"][r]
    for k, rows in ctx.item_multi.items():
        cols[k] = [rows[j] for j in cand.tolist()]
    for k, table in ctx.item_dense.items():
        cols[k] = stream._dense(table[cand], False, ctx.dense_fit[name][k])
    return cols


def _schemas(ctx, vocabs, user_names, item_names, extra_names, o):
    d = o.embedding_dim

    def base():
        specs = [FeatureSpec("user_id", "sparse", vocab_size=vocabs["user_id"].size,
                             embedding_dim=d, group="user")]
        specs += [FeatureSpec(k, "sparse", vocab_size=max(vocabs[k].size, 2), embedding_dim=d,
                              group="user") for k in user_names]
        specs += [FeatureSpec("item_id", "sparse", vocab_size=vocabs["item_id"].size,
                              embedding_dim=d, group="item")]
        specs += [FeatureSpec(k, "sparse", vocab_size=max(vocabs[k].size, 2), embedding_dim=d,
                              group="item") for k in item_names]
        specs += [FeatureSpec(k, "sequence", vocab_size=max(vocabs[k].size, 2),
                              embedding_dim=d, max_len=max(1, max((len(r) for r in rows),
                                                                  default=1)),
                              group="item") for k, rows in ctx.item_multi.items()]
        specs += [FeatureSpec(k, "dense", dtype="float32", group="item")
                  for k in ctx.item_dense]
        return specs

    def seq(prefix, max_len):
        return [FeatureSpec(prefix + "item_id", "sequence", max_len=max_len,
                            shared_with="item_id", group="user")] + [
            FeatureSpec(prefix + k, "sequence", max_len=max_len, shared_with=k, group="user")
            for k in item_names]

    return {
        "ranking": Schema(base() + seq("hist_", o.hist_len) + seq("short_", o.short_len)
                          + seq("long_", o.long_len)
                          + [FeatureSpec("hist_session_id", "sequence", max_len=o.hist_len,
                                         vocab_size=o.hist_len + 1, embedding_dim=d,
                                         group="user")]
                          + [FeatureSpec("click", "label", dtype="float32")]
                          + [FeatureSpec(k, "label", dtype="float32") for k in extra_names]
                          + [FeatureSpec("timestamp", "label", dtype="int64")]),
        "retrieval": Schema(base() + seq("short_", o.short_len) + seq("long_", o.long_len)
                            + seq("hist_", o.hist_len)
                            + [FeatureSpec("timestamp", "label", dtype="int64")]),
    }
