"""Dataset converters on the real samples (../shared/data) and on fixtures in the raw layouts."""
import collections
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import garden  # noqa: F401  (Keras 2 before TensorFlow loads)
from input import converters
from input.converters import common, stream
from input.reader import make_dataset
from input.specs import Schema
from tests.input import raw_fixtures as fx

SAMPLES = os.environ.get("GARDEN_SAMPLES", os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "..",
    "shared", "data"))
if not os.path.isdir(SAMPLES):
    SAMPLES = "/work/shared/data"
quiet = dict(log=lambda *a: None)


def read_split(folder, prefix):
    """Every row of train or test as numpy arrays; sequences as lists of id arrays."""
    schema = Schema.load(folder)
    out = collections.defaultdict(list)
    for features, labels in make_dataset(schema, os.path.join(folder, f"{prefix}-*.tfrecord"),
                                         100_000, training=False):
        for name, value in {**features, **labels}.items():
            out[name].append(value.numpy())
    rows = {k: np.concatenate(v) for k, v in out.items()}
    for spec in schema.of_kind("sequence"):
        rows[spec.name] = [r[:n] for r, n in zip(rows[spec.name], rows[spec.name + "_len"])]
    return rows


def vocab(out, name):
    return common.read_vocab(os.path.join(out, "vocab", f"{name}.txt"))


def stats_of(out):
    with open(os.path.join(out, "stats.json")) as f:
        return json.load(f)


def check_event_output(out, raw, implicit, repeats=False, hist_len=50):
    """The promises of an events converter, checked against the raw (user, item, time, label)
    rows: row counts, vocabularies, histories strictly before the target, sessions, and no
    (user, item) pair in both train and test.

    Vocabularies count the ranking training period only (events before
    stats["vocabulary_cut_time"]): users and items first seen later are OOV (id 0). Rows of an
    OOV user cannot be traced back to the raw log; they are counted, not followed."""
    stats = stats_of(out)
    users, items = vocab(out, "user_id"), vocab(out, "item_id")
    cut = stats["vocabulary_cut_time"]
    period = [r for r in raw if r[2] < cut]
    assert set(users[1:]) == {r[0] for r in period} and set(items[1:]) == {r[1] for r in period}
    counts = collections.Counter(r[1] for r in period)
    assert [counts[i] for i in items[1:]] == sorted(counts.values(), reverse=True)
    known_items = set(items[1:])
    times = collections.defaultdict(list)
    for u, i, t, _ in raw:
        times[(u, i)].append(t)
    by_user = collections.defaultdict(list)
    for u, _, t, _ in raw:
        by_user[u].append(t)
    by_user = {u: sorted(ts) for u, ts in by_user.items()}
    session_start = {}  # (user, time) -> time of its session's first event
    for u, ts in by_user.items():
        start = ts[0]
        for prev, t in zip([ts[0]] + ts[:-1], ts):
            if t - prev > common.SESSION_GAP_SECONDS:
                start = t
            session_start[(u, t)] = start

    def check_sequence(user, t, seq, lo, hi, limit):
        """seq: raw items of events with lo <= time < hi, the last `limit`, oldest first."""
        assert len(seq) == min(limit, sum(lo <= s < hi for s in by_user[user]))
        event_times = []
        for item in seq:
            if item == "":  # OOV: an item first seen in the test period
                continue
            earlier = [s for s in times[(user, item)] if lo <= s < hi]
            assert earlier, (user, item, t)  # never at or after the target's time
            event_times.append(min(earlier) if repeats else earlier[0])
        if not repeats:
            assert event_times == sorted(event_times)

    for family in ("ranking", "retrieval"):
        folder = os.path.join(out, family)
        train, test = read_split(folder, "train"), read_split(folder, "test")
        s = stats[family]
        assert (len(train["user_id"]), len(test["user_id"])) == (s["train_rows"],
                                                                 s["test_rows"])
        expected = 2 * len(raw) if family == "ranking" and implicit else len(raw)
        total = s["train_rows"] + s["test_rows"] + s["dropped_shared_pairs"] \
            + s.get("oov_targets", 0)
        assert total == expected, (family, s)
        pairs = {}
        for name, split in (("train", train), ("test", test)):
            pairs[name] = {(u, i) for u, i in zip(split["user_id"].tolist(),
                                                  split["item_id"].tolist()) if u > 0}
            for k in range(len(split["user_id"])):
                if split["user_id"][k] == 0:
                    continue  # an OOV user: several raw users share the id
                user, t = users[split["user_id"][k]], int(split["timestamp"][k])
                hist = [items[j] for j in split["hist_item_id"][k]]
                check_sequence(user, t, hist, -np.inf, t, hist_len)
                start = session_start[(user, t)]  # both families carry sessions
                check_sequence(user, t, [items[j] for j in split["short_item_id"][k]],
                               start, t, 10)
                check_sequence(user, t, [items[j] for j in split["long_item_id"][k]],
                               -np.inf, start, 50)
        assert not pairs["train"] & pairs["test"]
        if family == "retrieval":  # leave-last-out: each user's last event
            last = {users[u]: int(t) for u, t in zip(test["user_id"], test["timestamp"]) if u}
            known = collections.defaultdict(list)  # targets must be known items
            for u, i, t, _ in raw:
                if i in known_items and u in set(users[1:]):
                    known[u].append(t)
            assert last == {u: max(ts) for u, ts in known.items() if len(ts) >= 2}
        else:
            clicks = np.concatenate([train["click"], test["click"]])
            if implicit:  # one positive and one negative per event, less dropped pairs
                dropped = s["dropped_shared_pairs"]
                for kept in (clicks.sum(), (1 - clicks).sum()):
                    assert len(raw) - dropped <= kept <= len(raw)
            else:
                assert s["dropped_shared_pairs"] == 0
                assert clicks.sum() == sum(r[3] for r in raw)
                later = [r[1] not in known_items for r in raw if r[2] >= cut]  # the test
                assert s["test_oov_rate"]["item_id"] == pytest.approx(np.mean(later))
            assert test["timestamp"].min() >= train["timestamp"].max()  # split by time
    return stats


# ------------------------------------------------------------ fixtures in the raw layouts

ML_ROWS = fx.make_log(seed=1)
RAW_ML = [(str(u), str(i), t, float(r >= 4)) for u, i, r, t, _ in ML_ROWS]


@pytest.mark.parametrize("dataset,writer", [("movielens-100k", fx.write_ml100k),
                                            ("movielens-1m", fx.write_ml1m)])
def test_movielens_raw_files(tmp_path, dataset, writer):
    bad = writer(str(tmp_path / "raw"), ML_ROWS)
    out = str(tmp_path / "out")
    stats = converters.convert(dataset, str(tmp_path / "raw"), out, **quiet)
    assert stats["malformed_rows"]["count"] == bad
    name = "u.data" if dataset == "movielens-100k" else "ratings.dat"
    n = len(ML_ROWS)  # the malformed lines follow the good ones
    assert [e.split(": ")[0] for e in stats["malformed_rows"]["first"]] == [
        f"{name}:{n + 1}", f"{name}:{n + 2}"]
    check_event_output(out, RAW_ML, implicit=False)
    assert stats["ranking"]["test_oov_rate"]["item_id"] > 0  # no test item leaks into the vocab
    genres = fx.movie_genres(ML_ROWS)
    if dataset == "movielens-100k":  # genre flags come in the release's fixed order
        from input.converters.movielens import ML100K_GENRES
        genres = {i: "|".join(sorted(g.split("|"), key=ML100K_GENRES.index))
                  for i, g in genres.items()}
    items, users = vocab(out, "item_id"), vocab(out, "user_id")  # the training period's
    assert set(vocab(out, "cat_id")[1:]) == {genres[int(i)].split("|")[0] for i in items[1:]}
    assert sorted(vocab(out, "gender")[1:]) == ["F", "M"]
    assert set(vocab(out, "age")[1:]) == {str(fx.user_info(int(u))["age"]) for u in users[1:]}
    train = read_split(os.path.join(out, "ranking"), "train")
    cats = vocab(out, "cat_id")
    genre = lambda i: genres[int(items[i])].split("|")[0] if i else ""  # noqa: E731
    for item, cat, hist, hist_cat in zip(train["item_id"], train["cat_id"],
                                         train["hist_item_id"], train["hist_cat_id"]):
        assert cats[cat] == genre(item)
        assert [cats[c] for c in hist_cat] == [genre(h) for h in hist]


def test_movielens_latest(tmp_path):
    bad = fx.write_ml_latest(str(tmp_path / "raw"), ML_ROWS)
    out = str(tmp_path / "out")
    stats = converters.convert("movielens-latest", str(tmp_path / "raw"), out, **quiet)
    assert stats["malformed_rows"]["count"] == bad
    raw = [(str(u), str(i), t, float((r - 0.5 if i % 4 == 0 else r) >= 4))
           for u, i, r, t, _ in ML_ROWS]
    check_event_output(out, raw, implicit=False)


def test_min_count_sends_rare_items_to_oov(tmp_path):
    fx.write_ml1m(str(tmp_path / "raw"), ML_ROWS)
    out = str(tmp_path / "out")
    stats = converters.convert("movielens-1m", str(tmp_path / "raw"), out, min_count=4,
                               **quiet)
    counts = collections.Counter(str(i) for _, i, _, t, _ in ML_ROWS
                                 if t < stats["vocabulary_cut_time"])  # training period
    assert set(vocab(out, "item_id")[1:]) == {i for i, c in counts.items() if c >= 4}
    rare = sum(counts[str(i)] < 4 for _, i, *_ in ML_ROWS)  # rare or only seen later
    assert rare > 0 and stats["retrieval"]["oov_targets"] == rare
    train = read_split(os.path.join(out, "ranking"), "train")
    assert (train["item_id"] == 0).sum() > 0  # ranking keeps rare items, as the OOV id


@pytest.mark.parametrize("dataset", ["taobao-userbehavior", "amazon"])
def test_behaviour_logs(tmp_path, dataset):
    rows = fx.make_log(seed=2, repeats=True)
    raw_dir = str(tmp_path / "raw")
    if dataset == "amazon":
        bad = fx.write_amazon(raw_dir, rows)
        raw = [(f"A{u:05d}", f"B{i:04d}", t, 1.0) for u, i, _, t, _ in rows]
    else:
        bad = fx.write_taobao(raw_dir, rows)
        raw = [(str(u), str(i), t, 1.0) for u, i, _, t, _ in rows]
    out = str(tmp_path / "out")
    stats = converters.convert(dataset, raw_dir, out, hist_len=5, **quiet)
    assert stats["malformed_rows"]["count"] == bad
    check_event_output(out, raw, implicit=True, repeats=True, hist_len=5)
    category = {(f"B{i:04d}" if dataset == "amazon" else str(i)):
                (c if dataset == "amazon" else str(fx.GENRES.index(c) + 100))
                for _, i, _, _, c in rows}
    assert set(vocab(out, "cat_id")[1:]) == {category[i] for i in vocab(out, "item_id")[1:]}
    assert stats["ranking"]["dropped_shared_pairs"] > 0  # repeats do occur in both periods
    if dataset == "taobao-userbehavior":  # conversion: a purchase, only ever on a click
        split = read_split(os.path.join(out, "ranking"), "train")
        assert split["conversion"].sum() > 0
        assert np.all(split["click"][split["conversion"] == 1] == 1)
        buys = sum(k % 6 == 5 for k in range(len(rows)))  # write_taobao's behaviour cycle
        assert split["conversion"].sum() <= buys


def test_csv_log_with_yaml(tmp_path):
    raw_dir = str(tmp_path / "raw")
    bad = fx.write_csv_log(raw_dir, ML_ROWS)
    out = str(tmp_path / "out")
    stats = converters.convert("csv", raw_dir, out, csv_config=os.path.join(raw_dir, "log.yaml"),
                               **quiet)
    assert stats["malformed_rows"]["count"] == bad
    raw = [(f"u{u}", f"i{i}", t, float(r >= 4)) for u, i, r, t, _ in ML_ROWS]
    check_event_output(out, raw, implicit=False)
    schema = Schema.load(os.path.join(out, "ranking"))
    assert schema["segment"].group == "user" and schema["shelf"].group == "item"
    assert schema["price"].kind == "dense"
    train = read_split(os.path.join(out, "ranking"), "train")
    items = vocab(out, "item_id")
    missing = np.array([i == 0 or int(items[i][1:]) % 5 == 0 for i in train["item_id"]])
    assert np.all(train["price"][missing] == 0.0)  # missing (or OOV): the training mean
    assert abs(train["price"][~missing].mean()) < 0.5


def test_csv_config_errors_name_the_problem(tmp_path):
    raw_dir = str(tmp_path / "raw")
    fx.write_csv_log(raw_dir, ML_ROWS[:50])
    path = os.path.join(raw_dir, "bad.yaml")
    with open(path, "w") as f:
        f.write("file: log.csv\ndelimiter: ';'\nuser: uid\nitem: iid\ntime: when\n"
                "user_features: [nowhere]\n")
    with pytest.raises(common.ConversionError, match=r"no column\(s\) \['nowhere'\]"):
        converters.convert("csv", raw_dir, str(tmp_path / "out"), csv_config=path, **quiet)
    with open(path, "w") as f:
        f.write("user: uid\nitem: iid\nitme: x\n")
    with pytest.raises(common.ConversionError, match="unknown keys.*itme"):
        converters.convert("csv", raw_dir, str(tmp_path / "out"), csv_config=path, **quiet)
    with pytest.raises(common.ConversionError, match="needs --csv_config"):
        converters.convert("csv", raw_dir, str(tmp_path / "out"), **quiet)
    with pytest.raises(common.ConversionError, match="holds none of"):
        converters.convert("movielens-1m", str(tmp_path), str(tmp_path / "out"), **quiet)
    with pytest.raises(common.ConversionError, match="unknown; choose one of"):
        converters.convert("netflix", raw_dir, str(tmp_path / "out"), **quiet)
    assert not os.path.exists(tmp_path / "out")


# ------------------------------------------------------------ the real samples

def _sample_rows(name):
    with open(os.path.join(SAMPLES, name), newline="") as f:
        return list(csv.DictReader(f))


def test_criteo_sample_and_kaggle_layout(tmp_path):
    rows = _sample_rows("criteo_sample.txt")
    out = str(tmp_path / "csv")
    stats = converters.convert("criteo", os.path.join(SAMPLES, "criteo_sample.txt"), out,
                               min_count=2, **quiet)
    assert stats["rows"] == 200 and stats["malformed_rows"]["count"] == 0
    assert stats["label_rate"] == pytest.approx(np.mean([float(r["label"]) for r in rows]))
    for name in ("C1", "C6", "C26", "C3"):  # vocabularies count the training rows only
        counts = collections.Counter(r[name] for r in rows[:180] if r[name])
        assert set(vocab(out, name)[1:]) == {v for v, c in counts.items() if c >= 2}
        present = [r[name] for r in rows[180:] if r[name]]
        assert stats["test_oov_rate"][name] == pytest.approx(
            np.mean([v not in vocab(out, name) for v in present]))
    assert stats["test_oov_rate"]["C3"] > 0.5  # a leak would make this 0 with min_count=1
    train = read_split(os.path.join(out, "ranking"), "train")
    test = read_split(os.path.join(out, "ranking"), "test")
    assert len(train["click"]) == 180 and len(test["click"]) == 20
    # Test rows are the file's last 10%; I2 stays identifiable through its buckets.
    i2 = [float(r["I2"]) if r["I2"] else np.nan for r in rows[180:]]
    keys = common.log_buckets(np.array(i2))
    assert [vocab(out, "I2_bucket")[b] for b in test["I2_bucket"]] == [
        k if k in vocab(out, "I2_bucket") else "" for k in keys.tolist()]
    assert abs(train["I5"].mean()) < 0.2 and np.all(np.isfinite(train["I5"]))
    # The Kaggle layout (tab-separated, no header) of the same rows converts identically.
    kaggle = tmp_path / "kaggle"
    kaggle.mkdir()
    names = ["label"] + common_names()
    with open(kaggle / "train.txt", "w") as f:
        for r in rows:
            f.write("\t".join(r[n].replace(".0", "") if n.startswith("I") else r[n]
                              for n in names) + "\n")
        f.write("1\t2\t3\n")  # truncated line
    stats2 = converters.convert("criteo", str(kaggle), str(tmp_path / "tsv"), min_count=2,
                                **quiet)
    assert stats2["malformed_rows"]["count"] == 1
    assert stats2["vocab_sizes"] == stats["vocab_sizes"]
    train2 = read_split(os.path.join(str(tmp_path / "tsv"), "ranking"), "train")
    np.testing.assert_allclose(np.sort(train2["I5"]), np.sort(train["I5"]), atol=1e-6)


def common_names():
    from input.converters.ctr import CRITEO_CAT, CRITEO_INT
    return CRITEO_INT + CRITEO_CAT


def test_criteo_hashing(tmp_path):
    out = str(tmp_path / "out")
    stats = converters.convert("criteo", SAMPLES, out, hash_buckets=1000, **quiet)
    schema = Schema.load(os.path.join(out, "ranking"))
    assert schema["C1"].hash_buckets == 1000 and schema["C1"].dtype == "string"
    assert stats["hash_buckets"] == 1000
    train = read_split(os.path.join(out, "ranking"), "train")
    assert train["C1"].min() >= 1 and train["C1"].max() < 1000


def test_avazu_sample(tmp_path):
    rows = _sample_rows("avazu_sample.txt")
    out = str(tmp_path / "out")
    stats = converters.convert("avazu", SAMPLES, out, min_count=1, **quiet)
    assert stats["rows"] == 100 and stats["malformed_rows"]["count"] == 0
    assert stats["label_rate"] == pytest.approx(np.mean([float(r["click"]) for r in rows]))
    train = read_split(os.path.join(out, "ranking"), "train")
    test = read_split(os.path.join(out, "ranking"), "test")
    assert len(train["click"]) + len(test["click"]) == 100
    assert test["timestamp"].min() >= train["timestamp"].max()
    # The sample's rows share one hour, so the last 10% of rows are the test. Vocabularies
    # hold the training rows' values only; values first seen later are OOV in the test.
    assert {r["hour"] for r in rows} == {"14102100"}
    before = rows[:90]
    for name in ("site_id", "device_model", "C14"):
        assert sorted(vocab(out, name)[1:]) == sorted({r[name] for r in before})
        unseen = [r[name] not in {b[name] for b in before} for r in rows[90:]]
        assert stats["test_oov_rate"][name] == pytest.approx(np.mean(unseen))
    assert stats["test_oov_rate"]["device_ip"] > 0.5
    assert set(vocab(out, "hour_of_day")[1:]) == {str(int(r["hour"][-2:])) for r in rows}


def test_movielens_sample(tmp_path):
    rows = _sample_rows("movielens_sample.txt")
    out = str(tmp_path / "out")
    stats = converters.convert("movielens-1m", SAMPLES, out, **quiet)
    assert stats["events"] == 200 and stats["malformed_rows"]["count"] == 0
    raw = [(r["user_id"], r["movie_id"], int(r["timestamp"]), float(int(r["rating"]) >= 4))
           for r in rows]
    check_event_output(out, raw, implicit=False)
    known_items, known_users = set(vocab(out, "item_id")), set(vocab(out, "user_id"))
    assert set(vocab(out, "genres")[1:]) == {g for r in rows if r["movie_id"] in known_items
                                             for g in r["genres"].split("|")}
    assert set(vocab(out, "occupation")[1:]) == {r["occupation"] for r in rows
                                                 if r["user_id"] in known_users}


# ------------------------------------------------------------ TFDS, atomicity, CLI

def test_tfds_movielens_through_mock_data(tmp_path):
    import tensorflow as tf
    import tensorflow_datasets as tfds
    rows = ML_ROWS

    def as_dataset(self, *args, **kwargs):
        genres = fx.movie_genres(rows)
        ids = {g: k for k, g in enumerate(fx.GENRES)}
        return tf.data.Dataset.from_generator(lambda: ({
            "user_id": str(u).encode(), "movie_id": str(i).encode(),
            "user_rating": np.float32(r), "timestamp": np.int64(t),
            "movie_genres": np.array([ids[g] for g in genres[i].split("|")], np.int64),
            "movie_title": b"t", "user_gender": bool(u % 2), "bucketized_user_age": np.float32(25),
            "user_occupation_label": np.int64(u % 5), "user_occupation_text": b"x",
            "user_zip_code": b"12345"} for u, i, r, t, _ in rows),
            output_signature={
                "user_id": tf.TensorSpec([], tf.string), "movie_id": tf.TensorSpec([], tf.string),
                "user_rating": tf.TensorSpec([], tf.float32),
                "timestamp": tf.TensorSpec([], tf.int64),
                "movie_genres": tf.TensorSpec([None], tf.int64),
                "movie_title": tf.TensorSpec([], tf.string),
                "user_gender": tf.TensorSpec([], tf.bool),
                "bucketized_user_age": tf.TensorSpec([], tf.float32),
                "user_occupation_label": tf.TensorSpec([], tf.int64),
                "user_occupation_text": tf.TensorSpec([], tf.string),
                "user_zip_code": tf.TensorSpec([], tf.string)})

    out = str(tmp_path / "out")
    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        stats = converters.convert("tfds:movielens/1m-ratings", None, out, **quiet)
    assert stats["dataset"] == "tfds:movielens/1m-ratings"
    check_event_output(out, RAW_ML, implicit=False)
    assert sorted(vocab(out, "gender")[1:]) == ["F", "M"]
    with pytest.raises(common.ConversionError, match="supported TFDS datasets"):
        converters.convert("tfds:mnist", None, out, **quiet)


def test_a_failed_conversion_leaves_nothing_behind(tmp_path, monkeypatch):
    fx.write_ml1m(str(tmp_path / "raw"), ML_ROWS)
    out = str(tmp_path / "out")
    real = stream.append_rows  # the shard writer every converter writes through
    calls = []

    def dies_on_the_third_write(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as a killed conversion
        return real(*args, **kwargs)

    monkeypatch.setattr(stream, "append_rows", dies_on_the_third_write)
    with pytest.raises(KeyboardInterrupt):
        converters.convert("movielens-1m", str(tmp_path / "raw"), out, **quiet)
    assert sorted(os.listdir(tmp_path)) == ["raw"]  # no out/, no temporary folder


def test_cli_reports_progress_and_malformed_rows(tmp_path):
    raw = str(tmp_path / "raw")
    fx.write_taobao(raw, fx.make_log(seed=3, repeats=True))
    out = str(tmp_path / "out")
    result = subprocess.run([sys.executable, "-m", "garden.data", "--dataset=taobao-userbehavior",
                             f"--raw_dir={raw}", f"--out_dir={out}", "--num_shards=2"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "UserBehavior.csv:" in result.stdout and "rows in" in result.stdout
    assert "2 malformed row(s) skipped" in result.stdout
    assert "behavior 'click' is not one of" in result.stdout
    assert len([n for n in os.listdir(os.path.join(out, "ranking")) if n.startswith("train")]) == 2
    result = subprocess.run([sys.executable, "-m", "garden.data", "--dataset=avazu",
                             f"--raw_dir={raw}", f"--out_dir={out}-x"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "holds none of" in result.stderr


# ------------------------------------------------------------ shared pieces, by hand

def test_encode_orders_by_count_and_sends_rare_and_missing_to_oov():
    ids, v = common.encode(np.array(["b", "a", "", "b", "c", "a", "b", "", ""]), min_count=2)
    assert v.values == ["", "b", "a"]  # b (3) before a (2); c (1) and "" (missing) are OOV
    assert ids.tolist() == [1, 2, 0, 1, 0, 2, 1, 0, 0]
    ids, v = common.encode(np.array([b"x", b"y", b"x"]))
    assert v.values == ["", "x", "y"] and ids.tolist() == [1, 2, 1]


def test_log_buckets_and_standardization():
    keys = common.log_buckets(np.array([np.nan, -1, 2, 3, 100]))
    # floor(log(3)^2) = floor(1.207) = 1; floor(log(100)^2) = floor(21.21) = 21
    assert keys.tolist() == ["", "v-1", "v2", "l1", "l21"]
    raw = np.array([np.nan, 0.0, np.e - 1, 5.0])
    fit = stream._dense(raw[np.array([True, True, True, False])], True)
    # Training values log1p: 0 and 1 -> mean 0.5, std 0.5; missing -> 0.
    values = stream._dense(raw, True, (fit.mean(), fit.std()))
    np.testing.assert_allclose(values, [0.0, -1.0, 1.0, (np.log(6) - 0.5) / 0.5], rtol=1e-6)


def test_windows_sessions_and_splits():
    users = np.array([1, 1, 1, 1, 2, 2])
    times = np.array([0, 100, 100, 4000, 5, 6])
    same = common.run_starts([users, times])
    assert same.tolist() == [0, 1, 1, 3, 4, 5]  # the two events at t=100 share a start
    assert common.session_starts(users, times).tolist() == [0, 0, 0, 3, 4, 4]
    starts = common.run_starts([users])
    padded, lengths = common.windows(np.arange(10, 16), starts, same, 2)
    assert lengths.tolist() == [0, 1, 1, 2, 0, 1]
    assert padded[3].tolist() == [11, 12] and padded[2].tolist() == [10, 0]
    assert common.last_per_user(users).tolist() == [False, False, False, True, False, True]
    # Session ranks of the same windows, counted back from the latest session in each.
    session = common.session_starts(users, times)
    full = common.run_starts([users])
    ranks, rank_lengths = common.session_ranks(session, full, np.arange(1, 7), 3)
    # Row 3's window: user 1's last three events, at 100, 100 (the first session) and 4000
    # (a new one, 3900 idle seconds later).
    assert ranks[3].tolist() == [2, 2, 1] and ranks[2].tolist() == [1, 1, 1]
    assert ranks[5].tolist() == [1, 1, 0] and rank_lengths.tolist() == [1, 2, 3, 3, 1, 2]
    assert common.time_split(np.array([5, 1, 9, 3, 7, 2, 8, 4, 6, 10]), 0.2).tolist() == [
        False, False, True, False, False, False, False, False, False, True]
    train, dropped = common.drop_shared_pairs(np.array([1, 1, 2, 2]), np.array([7, 7, 7, 8]),
                                              np.array([False, True, False, False]))
    assert train.tolist() == [False, False, True, True] and dropped == 1


def test_columns_compacts_in_chunks():
    table = common.Columns({"a": "bytes", "b": "float", "c": "int"}, chunk=3)
    for k in range(7):
        table.append([f"é{k}", k / 2, k])
    out = table.arrays()
    assert out["a"].dtype.kind == "S" and [v.decode() for v in out["a"]] == [
        f"é{k}" for k in range(7)]
    assert out["b"].tolist() == [k / 2 for k in range(7)] and out["c"].dtype == np.int64


def test_csv_converter_on_the_real_movielens_sample(tmp_path):
    config = tmp_path / "ml.yaml"
    config.write_text(f"file: {os.path.join(SAMPLES, 'movielens_sample.txt')}\n"
                      "user: user_id\nitem: movie_id\ntime: timestamp\nlabel: rating\n"
                      "label_threshold: 4\nuser_features: [gender, age, occupation]\n"
                      "item_features: [genres]\n")
    out = str(tmp_path / "out")
    stats = converters.convert("csv", None, out, csv_config=str(config), **quiet)
    rows = _sample_rows("movielens_sample.txt")
    assert stats["events"] == 200 and stats["malformed_rows"]["count"] == 0
    raw = [(r["user_id"], r["movie_id"], int(r["timestamp"]), float(int(r["rating"]) >= 4))
           for r in rows]
    check_event_output(out, raw, implicit=False)
    known_items = set(vocab(out, "item_id"))
    assert set(vocab(out, "genres")[1:]) == {r["genres"] for r in rows  # one categorical
                                             if r["movie_id"] in known_items}
