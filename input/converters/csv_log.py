"""A user's own interaction log (CSV) described by a small YAML file.

    file: clicks.csv          # relative to the YAML's folder (or --raw_dir when it is a folder)
    delimiter: ","            # default ","
    header: true              # default true; else give `columns: [a, b, ...]`
    user: user_id             # required
    item: item_id             # required
    time: ts                  # required: unix seconds, or a date format in time_format
    time_format: "%Y-%m-%d %H:%M:%S"   # optional (strptime, read as UTC)
    label: clicked            # optional: 0/1 (or a number compared with label_threshold);
    label_threshold: 4        # absent: every row is a positive and negatives are sampled
    user_features: [age, gender]       # optional categorical columns
    item_features: [category]          # optional categorical columns
    item_dense: [price]                # optional numeric item columns (empty = missing)
"""
import calendar
import csv
import os
import time

import numpy as np
import yaml

from input.converters import common

KEYS = {"file", "delimiter", "header", "columns", "user", "item", "time", "time_format",
        "label", "label_threshold", "user_features", "item_features", "item_dense"}


def load_config(path):
    if not path or not os.path.isfile(path):
        raise common.ConversionError(f"--dataset=csv needs --csv_config=YAML (a file), got "
                                     f"{path!r}")
    with open(path, encoding="utf-8") as f:
        try:
            config = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise common.ConversionError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(config, dict):
        raise common.ConversionError(f"{path}: expected a mapping")
    unknown = sorted(set(config) - KEYS)
    if unknown:
        raise common.ConversionError(f"{path}: unknown keys {unknown}; known: {sorted(KEYS)}")
    for key in ("user", "item", "time"):
        if not isinstance(config.get(key), str) or not config[key]:
            raise common.ConversionError(f"{path}: '{key}' must name a column")
    for key in ("user_features", "item_features", "item_dense", "columns"):
        value = config.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise common.ConversionError(f"{path}: '{key}' must be a list of column names")
    if not config.get("header", True) and not config.get("columns"):
        raise common.ConversionError(f"{path}: with header: false, list the columns")
    return config


def _parse_time(text, fmt):
    if fmt:
        return calendar.timegm(time.strptime(text, fmt))
    return common.to_int(text)


def read_csv_log(raw_dir, malformed, config_path, log=print):
    """Events chunks (a generator: the log is streamed; config problems raise when it is
    first read)."""
    config = load_config(config_path)
    base = raw_dir if raw_dir and os.path.isdir(raw_dir) else os.path.dirname(config_path)
    path = raw_dir if raw_dir and os.path.isfile(raw_dir) else os.path.join(
        base, config.get("file", ""))
    if not os.path.isfile(path):
        raise common.ConversionError(f"{config_path}: the log file {path} does not exist "
                                     "(set 'file' or pass the file as --raw_dir)")
    what = os.path.basename(path)
    delimiter = config.get("delimiter", ",")
    user_cols = config.get("user_features", [])
    item_cols = config.get("item_features", [])
    dense_cols = config.get("item_dense", [])
    label_col, threshold = config.get("label"), config.get("label_threshold")
    fmt = config.get("time_format")
    with common.open_text(path) as f:
        reader = csv.reader(f, delimiter=delimiter)
        columns = config.get("columns") or [c.strip() for c in next(reader, [])]
        if config.get("header", True) and config.get("columns"):
            next(reader, None)
        wanted = [config["user"], config["item"], config["time"]] + user_cols + item_cols \
            + dense_cols + ([label_col] if label_col else [])
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise common.ConversionError(f"{path}: no column(s) {missing} (columns: "
                                         f"{columns}); check {config_path}")
        at = {c: columns.index(c) for c in wanted}
        out = {c: [] for c in wanted}
        times, labels = [], []
        rows, chunk = 0, common.Columns.CHUNK
        progress = common.Progress(what, log)
        start = 2 if config.get("header", True) else 1
        for number, row in enumerate(reader, start=start):
            if not row:
                continue
            try:
                if len(row) != len(columns):
                    raise ValueError(f"expected {len(columns)} fields, got {len(row)}")
                values = {c: row[i].strip() for c, i in at.items()}
                if not values[config["user"]] or not values[config["item"]]:
                    raise ValueError("empty user or item")
                stamp = _parse_time(values[config["time"]], fmt)
                if label_col:
                    raw = float(values[label_col])
                    label = float(raw >= threshold) if threshold is not None else raw
                    if label not in (0.0, 1.0):
                        raise ValueError(f"label {values[label_col]!r} is not 0 or 1 (set "
                                         "label_threshold for ratings)")
                dense = [common.to_float(values[c]) for c in dense_cols]
            except ValueError as e:
                malformed.add(f"{what}:{number}", str(e))
                continue
            for c in wanted:
                out[c].append(values[c])
            for c, v in zip(dense_cols, dense):
                out[c][-1] = v
            times.append(stamp)
            if label_col:
                labels.append(label)
            rows += 1
            progress.tick(rows)
            if len(times) == chunk:
                yield _events(config, out, times, labels)
                out = {c: [] for c in wanted}
                times, labels = [], []
    progress.done(rows)
    yield _events(config, out, times, labels)


def _events(config, out, times, labels):
    as_str = lambda c: np.array(out[c], dtype=str)  # noqa: E731
    return common.Events(
        user=as_str(config["user"]), item=as_str(config["item"]),
        time=np.array(times, np.int64),
        label=np.array(labels, np.float32) if config.get("label") else None,
        user_features={_name(c): as_str(c) for c in config.get("user_features", [])},
        item_features={_name(c): as_str(c) for c in config.get("item_features", [])},
        item_dense={_name(c): np.array(out[c], np.float64)
                    for c in config.get("item_dense", [])})


def _name(column):
    """A schema-safe feature name for a CSV column."""
    name = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in column.strip())
    if name in ("user_id", "item_id", "click", "timestamp") or not name:
        name = f"{name}_feature"
    return name
