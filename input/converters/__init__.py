"""Dataset converters: raw public datasets or a user's CSV log -> the garden's TFRecords.

    convert("movielens-1m", raw_dir, out_dir)  (the CLI is `python -m garden.data`)

Writes `out_dir/ranking/` and, for datasets with users and time, `out_dir/retrieval/` (each
train-*.tfrecord, test-*.tfrecord, schema.yaml), `out_dir/vocab/<feature>.txt` and
`out_dir/stats.json`, all into a temporary folder renamed when complete.

Memory is bounded by the vocabularies, not the rows: Criteo and Avazu stream their file in
blocks, several passes (`stream`); event logs are read in chunks and, above 2M events,
partitioned by user into temporary bucket files under that temporary folder, converted one
bucket at a time (`event_stream`). Vocabularies count the training part only.
"""
import dataclasses
import time

from input.converters import behavior, csv_log, ctr, event_stream, movielens, stream
from input.converters.common import ConversionError, EventOptions, Malformed

EVENT_READERS = {**movielens.READERS, **behavior.READERS}
CTR_READERS = ctr.READERS
DATASETS = tuple(EVENT_READERS) + tuple(CTR_READERS) + ("csv", "tfds:<name>")

# Users/items/categorical values seen fewer times go to the OOV id 0. Criteo's 10 is the
# usual choice for its long-tailed hashes; the other releases are small or already k-core.
DEFAULT_MIN_COUNT = {"criteo": 10, "avazu": 5}


def convert(dataset, raw_dir, out_dir, *, min_count=None, side_min_count=1, hash_buckets=0,
            hist_len=50, short_len=10, long_len=50, test_fraction=0.1, num_shards=0,
            embedding_dim=16, seed=0, csv_config=None, num_buckets=0, log=print):
    """Converts one dataset; returns the stats written to stats.json. num_buckets: event logs
    larger than event_stream.MAX_EVENTS_IN_MEMORY go to this many temporary files by user
    (0: event_stream.DEFAULT_BUCKETS)."""
    start = time.time()
    malformed = Malformed()
    if min_count is None:
        min_count = DEFAULT_MIN_COUNT.get(dataset, 1)
    if min_count < 1 or side_min_count < 1:
        raise ConversionError("--min_count and --side_min_count must be >= 1")
    if not 0 < test_fraction < 1:
        raise ConversionError(f"--test_fraction must be in (0, 1), got {test_fraction}")
    log(f"Converting {dataset} from {raw_dir} to {out_dir}")
    if dataset in CTR_READERS:
        # Streams the file (several passes, memory bounded by the vocabularies).
        stats = stream.write_ctr_stream(
            CTR_READERS[dataset](raw_dir), out_dir, min_count=min_count,
            hash_buckets=hash_buckets, test_fraction=test_fraction,
            embedding_dim=embedding_dim, num_shards=num_shards, seed=seed, dataset=dataset,
            log=log, malformed=malformed, extra_stats={"min_count": min_count},
            report=lambda: _report(malformed, log))
    else:
        if hash_buckets:
            raise ConversionError(f"--hash_buckets applies to criteo and avazu, not {dataset}")
        if dataset == "csv":
            events = csv_log.read_csv_log(raw_dir, malformed, csv_config, log)
        elif dataset.startswith("tfds:"):
            from input.converters import tfds_source  # imports tensorflow_datasets
            events = tfds_source.read_tfds(dataset[len("tfds:"):], raw_dir, malformed, log)
        elif dataset in EVENT_READERS:
            events = EVENT_READERS[dataset](raw_dir, malformed, log)
        else:
            raise ConversionError(f"--dataset={dataset}: unknown; choose one of "
                                  f"{('synthetic',) + DATASETS}")
        options = EventOptions(min_count=min_count, side_min_count=side_min_count,
                               hist_len=hist_len, short_len=short_len, long_len=long_len,
                               test_fraction=test_fraction, embedding_dim=embedding_dim,
                               num_shards=num_shards, seed=seed)
        # `events`: Events, or chunks of them that a reader streams from its files.
        stats = event_stream.write_event_stream(
            events, out_dir, options, dataset, log, malformed=malformed,
            extra_stats={"options": dataclasses.asdict(options)}, num_buckets=num_buckets,
            report=lambda: _report(malformed, log))
    log(f"Wrote {out_dir} in {time.time() - start:.1f}s")
    return stats


def _report(malformed, log):
    if malformed.count:
        log(f"  {malformed.count:,} malformed row(s) skipped (counted in stats.json), e.g.:")
        for line in malformed.examples:
            log(f"    {line}")
