"""Streaming pieces of the converters: exact counts block by block, the split from a key
histogram, and a CTR conversion in many blocks equal to one in a single block."""
import os

import numpy as np
import pytest

import garden  # noqa: F401  (Keras 2 before TensorFlow loads)
from input import converters
from input.converters import common, event_stream, stream
from tests.input.converters_test import SAMPLES, read_split, quiet


def test_value_counts_match_a_full_count_and_subtract_exactly(monkeypatch):
    rng = np.random.default_rng(0)
    blocks = [np.array([f"v{k}" for k in rng.zipf(1.5, 500) % 3000], dtype="S")
              for _ in range(20)]
    blocks.append(np.array([b"a_much_longer_value", b""]))  # wider values arrive late
    counts = stream.ValueCounts()
    for block in blocks:
        counts.add(block)
    counts.add(blocks[3], sign=-1)  # as the test rows of a block are taken out
    kept = np.concatenate(blocks[:3] + blocks[4:])
    vocab, lookup = counts.vocab(min_count=2)
    ids, expected = common.encode(kept, min_count=2)
    assert vocab.values == expected.values
    np.testing.assert_array_equal(lookup(kept), ids)
    assert lookup(np.array([b"never seen"])).tolist() == [0]
    with pytest.raises(ValueError, match="never added"):
        counts.add(np.array([b"never seen"]), sign=-1)


def test_moments_combine_like_numpy():
    x = np.random.default_rng(1).normal(3, 2, 1000)
    parts = [stream.moments(p) for p in np.split(x, [10, 400, 401, 999])]
    n, mean, m2 = stream.combine_moments(parts + [stream.moments(x[:0])])
    assert n == 1000 and mean == pytest.approx(x.mean()) and np.sqrt(m2 / n) == pytest.approx(
        x.std())


@pytest.mark.parametrize("keys", [[5, 1, 9, 3, 7, 2, 8, 4, 6, 10], [3] * 10, None])
def test_split_from_a_histogram_equals_time_split(keys):
    n = 10
    counts = None
    if keys is not None:
        counts = stream.ValueCounts()
        counts.add(np.array(keys[:4]))
        counts.add(np.array(keys[4:]))
    split = stream.Split(counts, n, 0.2)
    expected = common.time_split(np.array(keys if keys is not None else np.arange(n)), 0.2)
    rows = np.arange(n)
    got = split.test(np.array(keys) if keys is not None else rows, rows)
    assert got.tolist() == expected.tolist() and split.num_test == expected.sum()


@pytest.mark.parametrize("dataset,raw", [("criteo", "criteo_sample.txt"),
                                         ("avazu", "avazu_sample.txt")])
def test_many_blocks_give_the_examples_of_one_block(tmp_path, monkeypatch, dataset, raw):
    raw = os.path.join(SAMPLES, raw)
    one = converters.convert(dataset, raw, str(tmp_path / "one"), min_count=2, num_shards=3,
                             **quiet)
    monkeypatch.setattr(stream, "BLOCK_BYTES", 3000)  # ~10 rows a block
    many = converters.convert(dataset, raw, str(tmp_path / "many"), min_count=2, num_shards=3,
                              **quiet)
    assert one["memory"]["blocks"] == 1 and many["memory"]["blocks"] > 5
    assert many["memory"]["test_blocks_reread"] < many["memory"]["blocks"] / 2
    del one["memory"], many["memory"]
    assert one == many
    for prefix in ("train", "test"):
        a = read_split(str(tmp_path / "one" / "ranking"), prefix)
        b = read_split(str(tmp_path / "many" / "ranking"), prefix)
        if prefix == "test":  # in file order either way
            for name in a:
                np.testing.assert_allclose(a[name], b[name], atol=1e-6, err_msg=name)
        assert _rows(a) == _rows(b)  # train: the same rows, in another order


def _rows(columns):
    return sorted(tuple(np.round(np.ravel(columns[k][i]).astype(float), 4).tolist()
                        for k in sorted(columns)) for i in range(len(columns["click"])))


@pytest.mark.parametrize("dataset", ["taobao-userbehavior", "movielens-1m"])
def test_events_spilled_to_bucket_files_keep_every_promise(tmp_path, monkeypatch, dataset):
    """Histories, sessions, splits and no shared pairs hold when users are processed bucket
    by bucket, and the output has the same examples count as the in-memory conversion."""
    from tests.input import raw_fixtures as fx
    from tests.input.converters_test import check_event_output
    raw_dir = str(tmp_path / "raw")
    if dataset == "taobao-userbehavior":
        rows = fx.make_log(seed=2, repeats=True)
        fx.write_taobao(raw_dir, rows)
        raw = [(str(u), str(i), t, 1.0) for u, i, _, t, _ in rows]
    else:
        rows = fx.make_log(seed=1)
        fx.write_ml1m(raw_dir, rows)
        raw = [(str(u), str(i), t, float(r >= 4)) for u, i, r, t, _ in rows]
    one = converters.convert(dataset, raw_dir, str(tmp_path / "one"), hist_len=5, **quiet)
    monkeypatch.setattr(event_stream, "MAX_EVENTS_IN_MEMORY", 50)
    out = str(tmp_path / "many")
    many = converters.convert(dataset, raw_dir, out, hist_len=5, num_buckets=4, **quiet)
    check_event_output(out, raw, implicit=dataset != "movielens-1m", repeats=True, hist_len=5)
    assert not os.path.exists(os.path.join(out, ".buckets"))
    assert one["memory"]["buckets"] == 1 and many["memory"]["buckets"] == 4
    assert many["memory"]["largest_bucket_events"] < len(raw) / 2
    del one["memory"], many["memory"]
    assert many["vocab_sizes"] == one["vocab_sizes"]
    assert many["retrieval"] == one["retrieval"]
    for key in ("test_rows", "train_users"):
        assert many["ranking"][key] == one["ranking"][key]
    for name in os.listdir(str(tmp_path)):
        assert not name.startswith(".many"), name  # no temporary folder left


def test_a_reader_streaming_small_chunks_gives_the_same_output(tmp_path, monkeypatch):
    from tests.input import raw_fixtures as fx
    raw_dir = str(tmp_path / "raw")
    bad = fx.write_taobao(raw_dir, fx.make_log(seed=3, repeats=True))
    whole = converters.convert("taobao-userbehavior", raw_dir, str(tmp_path / "a"), **quiet)
    monkeypatch.setattr(common.Columns, "CHUNK", 7)
    chunked = converters.convert("taobao-userbehavior", raw_dir, str(tmp_path / "b"), **quiet)
    assert chunked == whole and whole["malformed_rows"]["count"] == bad
    for family in ("ranking", "retrieval"):
        for prefix in ("train", "test"):
            a = read_split(str(tmp_path / "a" / family), prefix)
            b = read_split(str(tmp_path / "b" / family), prefix)
            for name in a:
                np.testing.assert_array_equal(np.concatenate(a[name]) if isinstance(
                    a[name], list) else a[name], np.concatenate(b[name]) if isinstance(
                    b[name], list) else b[name], err_msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["criteo", "taobao"])
def test_peak_memory_does_not_follow_the_rows(tmp_path, layout):
    """10x the rows adds a small fraction to the converter's peak RSS (TensorFlow's ~0.6 GB
    included), where holding the rows would add several times the smaller run's data."""
    from tools import bench_convert as bench
    dataset, name, writer = bench.LAYOUTS[layout]
    peaks = []
    for rows in (20_000, 200_000):
        raw = tmp_path / f"raw{rows}"
        raw.mkdir()
        writer(str(raw / name), rows)
        peaks.append(bench.measure(bench.ROOT, dataset, str(raw), str(tmp_path / f"o{rows}"))[0])
    assert peaks[1] < 1.3 * peaks[0], peaks


def test_enough_open_files_for_every_shard():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1000:
        pytest.skip("the hard limit of open files is too low to test raising the soft one")
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (300, hard))
        stream.allow_open_files(500)  # Taobao's 100M events write ~1,500 shards at once
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 756
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_bad_value_names_its_line_and_the_block_still_converts(tmp_path):
    good = "\t".join(["1"] + ["3"] * 13 + ["68fd1e64"] * 26)
    lines = [good] * 30 + ["2\t" + good[2:], good.replace("\t3\t", "\tinf\t", 1), "1\t2"]
    (tmp_path / "train.txt").write_text("\n".join(lines + [good] * 10) + "\n")
    stats = converters.convert("criteo", str(tmp_path), str(tmp_path / "out"), min_count=1,
                               **quiet)
    assert stats["rows"] == 40 and stats["malformed_rows"]["count"] == 3
    assert [e.split(": ")[0] for e in stats["malformed_rows"]["first"]] == [
        "train.txt:31", "train.txt:32", "train.txt:33"]
    assert "label '2' is not 0 or 1" in stats["malformed_rows"]["first"][0]
