"""Implicit-feedback behaviour logs -> ranking (DIN-style sampled negatives) and retrieval.

- taobao-userbehavior: UserBehavior.csv `user,item,category,behavior,timestamp` (no header;
  behavior one of pv, buy, cart, fav). Ranking rows also carry `conversion` (1 on a purchase,
  0 otherwise and on sampled negatives), for multi-task models.
- amazon: a reviews file of JSON lines (`reviewerID`, `asin`, `unixReviewTime`; McAuley's
  2014 `reviews_*.json` or 2018 `*.json`) and optionally a metadata file of lines with `asin`
  and `categories` (2014: a list of category paths, possibly a Python literal) or `category`
  (2018: one path). The item's category is the last element of its first path, as in DIN's
  preprocessing.
Every event is a positive; the ranking data pairs it with one uniformly drawn other item as a
negative that shares its user, time and history.
"""
import ast
import csv
import glob
import json
import os

import numpy as np

from input.converters import common

TAOBAO_BEHAVIORS = ("pv", "buy", "cart", "fav")


def read_taobao(raw_dir, malformed, log=print):
    """Events chunks (a generator: the file is streamed, 100M rows never held at once)."""
    path = common.find_file(raw_dir, ["UserBehavior.csv", "user_behavior.csv"],
                            "taobao-userbehavior")
    return _taobao_chunks(path, malformed, log, common.Columns.CHUNK)


def _taobao_chunks(path, malformed, log, chunk):
    what = os.path.basename(path)
    table = common.Columns({"user": "int", "item": "int", "cat": "int", "time": "int",
                            "buy": "int"}, chunk=chunk)
    progress = common.Progress(what, log)
    rows = 0
    with common.open_text(path) as f:
        for number, row in enumerate(csv.reader(f), start=1):
            if not row:
                continue
            if number == 1 and row[0].strip().lower() in ("user", "user_id", "userid"):
                continue  # a header someone added
            try:
                if len(row) != 5:
                    raise ValueError(f"expected 5 fields, got {len(row)}")
                user, item, cat, behavior, stamp = (v.strip() for v in row)
                if behavior not in TAOBAO_BEHAVIORS:
                    raise ValueError(f"behavior {behavior!r} is not one of {TAOBAO_BEHAVIORS}")
                values = [int(user), int(item), int(cat), common.to_int(stamp),
                          int(behavior == "buy")]
            except ValueError as e:
                malformed.add(f"{what}:{number}", str(e))
                continue
            table.append(values)
            rows += 1
            progress.tick(rows)
            if table.rows == chunk:
                yield _taobao_events(table.arrays())
                table = common.Columns(table.kinds, chunk=chunk)
    progress.done(rows)
    yield _taobao_events(table.arrays())


def _taobao_events(c):
    # Taobao's ids are integers: int64 columns.
    return common.Events(user=c["user"], item=c["item"], time=c["time"],
                         item_features={"cat_id": c["cat"]},
                         extra_labels={"conversion": c["buy"]})


def _json_lines(path, malformed, log):
    what = os.path.basename(path)
    progress = common.Progress(what, log)
    count = 0
    with common.open_text(path) as f:
        for number, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                try:  # the 2014 metadata files are Python dict literals
                    record = ast.literal_eval(line)
                except (ValueError, SyntaxError):
                    malformed.add(f"{what}:{number}", "not a JSON object")
                    continue
            if not isinstance(record, dict):
                malformed.add(f"{what}:{number}", "not a JSON object")
                continue
            count += 1
            progress.tick(count)
            yield number, record
    progress.done(count)


def _amazon_files(raw_dir):
    if os.path.isfile(raw_dir):
        return raw_dir, None
    if not os.path.isdir(raw_dir):
        raise common.ConversionError(f"--raw_dir={raw_dir}: no such file or folder")
    names = sorted(glob.glob(os.path.join(raw_dir, "*.json*")))
    meta = [p for p in names if os.path.basename(p).startswith("meta")]
    reviews = [p for p in names if p not in meta]
    if not reviews:
        raise common.ConversionError(f"--dataset=amazon: --raw_dir={raw_dir} holds no reviews "
                                     "file (*.json or *.json.gz of review lines)")
    if len(reviews) > 1 or len(meta) > 1:
        raise common.ConversionError(f"--dataset=amazon: --raw_dir={raw_dir} holds several "
                                     f"review or metadata files ({reviews + meta}); keep one "
                                     "category per folder")
    return reviews[0], (meta[0] if meta else None)


def _category(record):
    paths = record.get("categories")
    if isinstance(paths, list) and paths and isinstance(paths[0], list) and paths[0]:
        return str(paths[0][-1])
    path = record.get("category")
    if isinstance(path, list) and path:
        return str(path[-1])
    return ""


def read_amazon(raw_dir, malformed, log=print):
    """Events chunks (a generator): the metadata's categories are read first (one per item),
    then the reviews are streamed."""
    reviews, meta = _amazon_files(raw_dir)
    return _amazon_chunks(reviews, meta, malformed, log, common.Columns.CHUNK)


def _amazon_chunks(reviews, meta, malformed, log, chunk):
    categories, meta_malformed = {}, common.Malformed(keep=malformed.keep)
    if meta:
        what = os.path.basename(meta)
        for number, r in _json_lines(meta, meta_malformed, log):
            if not r.get("asin"):
                meta_malformed.add(f"{what}:{number}", "no asin")
                continue
            categories[str(r["asin"])] = _category(r)
    what = os.path.basename(reviews)
    users, items, times = [], [], []
    for number, r in _json_lines(reviews, malformed, log):
        user, item, stamp = r.get("reviewerID"), r.get("asin"), r.get("unixReviewTime")
        if not user or not item or stamp is None:
            malformed.add(f"{what}:{number}", "needs reviewerID, asin and unixReviewTime")
            continue
        try:
            stamp = common.to_int(str(stamp))
        except ValueError as e:
            malformed.add(f"{what}:{number}", str(e))
            continue
        users.append(str(user))
        items.append(str(item))
        times.append(stamp)
        if len(users) == chunk:
            yield _amazon_events(users, items, times, categories)
            users, items, times = [], [], []
    # Metadata problems are reported after the reviews', as when the files were read in
    # that order.
    malformed.extend(meta_malformed)
    yield _amazon_events(users, items, times, categories)


def _amazon_events(users, items, times, categories):
    cats = np.array([categories.get(i, "") for i in items], dtype=str)
    return common.Events(user=np.array(users, dtype=str), item=np.array(items, dtype=str),
                         time=np.array(times, np.int64), item_features={"cat_id": cats})


READERS = {"taobao-userbehavior": read_taobao, "amazon": read_amazon}
