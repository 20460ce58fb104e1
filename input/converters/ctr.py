"""Impression logs for CTR prediction -> ranking data (no users, no histories).

- criteo: the Kaggle Display Advertising Challenge train.txt (`label \\t I1..I13 \\t C1..C26`,
  no header, chronological over 7 days), or the same columns as CSV with a header (DeepCTR's
  criteo_sample.txt). Integer features become a standardized log1p value and a bucket id
  (floor(log(v)^2) above 2); categorical ones vocabulary ids (or hashed strings). The split is
  by file order: the last rows are the test set.
- avazu: train.csv with a header `id, click, hour (YYMMDDHH), C1, banner_pos, site_*, app_*,
  device_*, C14..C21`. Every column but id, click and hour is categorical; hour also gives
  `hour_of_day` and `weekday`. The split is by hour.
"""
import calendar
import csv
import os

import numpy as np

from input.converters import common

CRITEO_INT = [f"I{i}" for i in range(1, 14)]
CRITEO_CAT = [f"C{i}" for i in range(1, 27)]


def read_criteo(raw_dir, malformed, log=print):
    path = common.find_file(raw_dir, ["train.txt", "criteo_sample.txt", "train.csv"], "criteo")
    what = os.path.basename(path)
    with common.open_text(path) as f:
        first = f.readline()
    header = first.startswith("label")
    delimiter = "," if header or ("\t" not in first and "," in first) else "\t"
    names = ["label"] + CRITEO_INT + CRITEO_CAT
    if header:
        columns = [c.strip() for c in first.rstrip("\r\n").split(delimiter)]
        missing = [c for c in names if c not in columns]
        if missing:
            raise common.ConversionError(f"{path}: the header lacks {missing}")
        index = [columns.index(c) for c in names]
        expected = len(columns)
    else:
        index, expected = list(range(len(names))), len(names)
    table = common.Columns({"label": "int", **{n: "float" for n in CRITEO_INT},
                            **{n: "bytes" for n in CRITEO_CAT}})
    progress = common.Progress(what, log)
    with common.open_text(path) as f:
        for number, row in enumerate(csv.reader(f, delimiter=delimiter), start=1):
            if header and number == 1 or not row:
                continue
            try:
                if len(row) != expected:
                    raise ValueError(f"expected {expected} fields, got {len(row)}")
                label = common.to_int(row[index[0]])
                if label not in (0, 1):
                    raise ValueError(f"label {row[index[0]]!r} is not 0 or 1")
                values = [common.to_float(row[i].strip()) for i in index[1:14]]
            except ValueError as e:
                malformed.add(f"{what}:{number}", str(e))
                continue
            table.append([label] + values + [row[i].strip() for i in index[14:]])
            progress.tick(table.rows)
    progress.done(table.rows)
    columns = table.arrays()
    return common.CtrTable(
        label=columns["label"].astype(np.float32),
        numeric={name: columns[name] for name in CRITEO_INT},
        categorical={name: columns[name] for name in CRITEO_CAT})


def _hour_to_time(text):
    """YYMMDDHH -> unix seconds (UTC)."""
    if len(text) != 8 or not text.isdigit():
        raise ValueError(f"hour {text!r} is not YYMMDDHH")
    year, month, day, hour = 2000 + int(text[:2]), int(text[2:4]), int(text[4:6]), int(text[6:])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24):
        raise ValueError(f"hour {text!r} is not a valid YYMMDDHH")
    return calendar.timegm((year, month, day, hour, 0, 0))


def read_avazu(raw_dir, malformed, log=print):
    path = common.find_file(raw_dir, ["train.csv", "train", "avazu_sample.txt"], "avazu")
    what = os.path.basename(path)
    with common.open_text(path) as f:
        reader = csv.reader(f)
        header = [c.strip() for c in next(reader, [])]
        missing = [c for c in ("click", "hour") if c not in header]
        if missing:
            raise common.ConversionError(f"{path}: the header lacks {missing}; expected Avazu's "
                                         "id,click,hour,C1,banner_pos,...")
        click, hour = header.index("click"), header.index("hour")
        cat_index = [i for i, c in enumerate(header) if c not in ("id", "click", "hour")]
        table = common.Columns({"click": "int", "time": "int",
                                **{header[i]: "bytes" for i in cat_index}})
        progress = common.Progress(what, log)
        for number, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                if len(row) != len(header):
                    raise ValueError(f"expected {len(header)} fields, got {len(row)}")
                label = common.to_int(row[click])
                if label not in (0, 1):
                    raise ValueError(f"click {row[click]!r} is not 0 or 1")
                stamp = _hour_to_time(row[hour].strip())
            except ValueError as e:
                malformed.add(f"{what}:{number}", str(e))
                continue
            table.append([label, stamp] + [row[i].strip() for i in cat_index])
            progress.tick(table.rows)
    progress.done(table.rows)
    columns = table.arrays()
    times = columns["time"]
    categorical = {header[i]: columns[header[i]] for i in cat_index}
    categorical["hour_of_day"] = ((times // 3600) % 24).astype(str)
    categorical["weekday"] = ((times // 86400 + 3) % 7).astype(str)  # 0 = Monday
    return common.CtrTable(label=columns["click"].astype(np.float32), categorical=categorical,
                           time=times)


READERS = {"criteo": read_criteo, "avazu": read_avazu}
