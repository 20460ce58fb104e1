"""Impression logs for CTR prediction -> ranking data (no users, no histories).

- criteo: the Kaggle Display Advertising Challenge train.txt (`label \\t I1..I13 \\t C1..C26`,
  no header, chronological over 7 days), or the same columns as CSV with a header (DeepCTR's
  criteo_sample.txt). Integer features become a standardized log1p value and a bucket id
  (floor(log(v)^2) above 2); categorical ones vocabulary ids (or hashed strings). The file has
  no timestamp but is in time order, so the split is by row position: the last rows are the
  test set.
- avazu: train.csv with a header `id, click, hour (YYMMDDHH), C1, banner_pos, site_*, app_*,
  device_*, C14..C21`. Every column but id, click and hour is categorical; hour also gives
  `hour_of_day` and `weekday`. The split is by hour.

Each reader is a source for `stream.write_ctr_stream`, which reads the file several times in
blocks of lines (memory bounded by the vocabularies, not the rows): `blocks()` yields the raw
lines, `parse()` turns a block into a `Chunk` of numpy columns and counts malformed rows.
"""
import calendar
import csv
import dataclasses
import functools
import os

import numpy as np

from input.converters import common, stream

CRITEO_INT = [f"I{i}" for i in range(1, 14)]
CRITEO_CAT = [f"C{i}" for i in range(1, 27)]


@dataclasses.dataclass
class Chunk:
    """Parsed rows of one block: label [n] float32, numeric columns (float64, NaN = missing),
    categorical columns (UTF-8 bytes or str, "" = missing), time [n] int64 (or None)."""
    label: np.ndarray
    categorical: dict
    numeric: dict = dataclasses.field(default_factory=dict)
    time: np.ndarray = None


def _as_bytes(rows, width):
    """[n, width] array of UTF-8 bytes from rows of str."""
    array = np.asarray(rows, dtype=str).reshape(len(rows), width)
    try:
        return array.astype("S")
    except UnicodeEncodeError:
        return np.char.encode(array, "utf-8")


class _Source:
    log_numeric = True
    has_time = False

    def blocks(self, offset=0, first_line=1):
        return stream.line_blocks(self.path, offset, first_line)


class CriteoSource(_Source):
    categorical_names = CRITEO_CAT

    def __init__(self, raw_dir):
        self.path = common.find_file(raw_dir, ["train.txt", "criteo_sample.txt", "train.csv"],
                                     "criteo")
        self.what = os.path.basename(self.path)
        with common.open_text(self.path) as f:
            first = f.readline()
        self.header = first.startswith("label")
        self.delimiter = "," if self.header or ("\t" not in first and "," in first) else "\t"
        names = ["label"] + CRITEO_INT + CRITEO_CAT
        if self.header:
            columns = [c.strip() for c in first.rstrip("\r\n").split(self.delimiter)]
            missing = [c for c in names if c not in columns]
            if missing:
                raise common.ConversionError(f"{self.path}: the header lacks {missing}")
            self.index = [columns.index(c) for c in names]
            self.expected = len(columns)
        else:
            self.index, self.expected = list(range(len(names))), len(names)

    def parse(self, lines, first_line, malformed):
        try:
            return self._parse_fast(lines, first_line, malformed)
        except ValueError:  # a bad value somewhere in the block: row by row, to name it
            return self._parse_rows(lines, first_line, malformed)

    def _parse_fast(self, lines, first_line, malformed):
        """The block's rows parsed as whole numpy columns; ValueError for a bad value."""
        rows, bad = [], []
        for number, row in enumerate(csv.reader(lines, delimiter=self.delimiter),
                                     start=first_line):
            if self.header and number == 1 or not row:
                continue
            if len(row) != self.expected:
                bad.append((number, f"expected {self.expected} fields, got {len(row)}"))
                continue
            rows.append(row)
        table = np.char.strip(np.array(rows, dtype=str).reshape(len(rows), self.expected))
        label = table[:, self.index[0]]
        if not np.isin(label, ["0", "1"]).all():
            raise ValueError("a label other than 0 or 1")
        text = table[:, self.index[1:14]]
        num = np.where(text == "", "nan", text).astype(np.float64)
        if not np.isfinite(num[text != ""]).all():
            raise ValueError("a number that is not finite")
        for number, reason in bad:
            malformed.add(f"{self.what}:{number}", reason)
        cat = _as_bytes(table[:, self.index[14:]], len(CRITEO_CAT))
        return Chunk(label=(label == "1").astype(np.float32),
                     numeric={name: num[:, k] for k, name in enumerate(CRITEO_INT)},
                     categorical={name: cat[:, k] for k, name in enumerate(CRITEO_CAT)})

    def _parse_rows(self, lines, first_line, malformed):
        labels, numeric, categorical = [], [], []
        index, expected = self.index, self.expected
        for number, row in enumerate(csv.reader(lines, delimiter=self.delimiter),
                                     start=first_line):
            if self.header and number == 1 or not row:
                continue
            try:
                if len(row) != expected:
                    raise ValueError(f"expected {expected} fields, got {len(row)}")
                label = common.to_int(row[index[0]])
                if label not in (0, 1):
                    raise ValueError(f"label {row[index[0]]!r} is not 0 or 1")
                values = [common.to_float(row[i].strip()) for i in index[1:14]]
            except ValueError as e:
                malformed.add(f"{self.what}:{number}", str(e))
                continue
            labels.append(label)
            numeric.append(values)
            categorical.append([row[i].strip() for i in index[14:]])
        num = np.array(numeric, np.float64).reshape(len(labels), len(CRITEO_INT))
        cat = _as_bytes(categorical, len(CRITEO_CAT))
        return Chunk(label=np.array(labels, np.float32),
                     numeric={name: num[:, k] for k, name in enumerate(CRITEO_INT)},
                     categorical={name: cat[:, k] for k, name in enumerate(CRITEO_CAT)})


@functools.lru_cache(maxsize=4096)  # a block of rows holds a few distinct hours
def _hour_to_time(text):
    """YYMMDDHH -> unix seconds (UTC)."""
    if len(text) != 8 or not text.isdigit():
        raise ValueError(f"hour {text!r} is not YYMMDDHH")
    year, month, day, hour = 2000 + int(text[:2]), int(text[2:4]), int(text[4:6]), int(text[6:])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24):
        raise ValueError(f"hour {text!r} is not a valid YYMMDDHH")
    return calendar.timegm((year, month, day, hour, 0, 0))


class AvazuSource(_Source):
    has_time = True

    def __init__(self, raw_dir):
        self.path = common.find_file(raw_dir, ["train.csv", "train", "avazu_sample.txt"],
                                     "avazu")
        self.what = os.path.basename(self.path)
        with common.open_text(self.path) as f:
            header = [c.strip() for c in next(csv.reader(f), [])]
        missing = [c for c in ("click", "hour") if c not in header]
        if missing:
            raise common.ConversionError(f"{self.path}: the header lacks {missing}; expected "
                                         "Avazu's id,click,hour,C1,banner_pos,...")
        self.header = header
        self.click, self.hour = header.index("click"), header.index("hour")
        self.cat_index = [i for i, c in enumerate(header) if c not in ("id", "click", "hour")]
        self.categorical_names = [header[i] for i in self.cat_index] + ["hour_of_day",
                                                                        "weekday"]

    def parse(self, lines, first_line, malformed):
        labels, times, categorical = [], [], []
        width = len(self.header)
        for number, row in enumerate(csv.reader(lines), start=first_line):
            if number == 1 or not row:
                continue  # the header
            try:
                if len(row) != width:
                    raise ValueError(f"expected {width} fields, got {len(row)}")
                label = common.to_int(row[self.click])
                if label not in (0, 1):
                    raise ValueError(f"click {row[self.click]!r} is not 0 or 1")
                stamp = _hour_to_time(row[self.hour].strip())
            except ValueError as e:
                malformed.add(f"{self.what}:{number}", str(e))
                continue
            labels.append(label)
            times.append(stamp)
            categorical.append([row[i].strip() for i in self.cat_index])
        cat = _as_bytes(categorical, len(self.cat_index))
        times = np.array(times, np.int64)
        columns = {self.header[i]: cat[:, k] for k, i in enumerate(self.cat_index)}
        columns["hour_of_day"] = ((times // 3600) % 24).astype(str)
        columns["weekday"] = ((times // 86400 + 3) % 7).astype(str)  # 0 = Monday
        return Chunk(label=np.array(labels, np.float32), categorical=columns, time=times)


READERS = {"criteo": CriteoSource, "avazu": AvazuSource}
