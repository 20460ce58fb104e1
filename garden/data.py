"""Data for the garden: the synthetic world (generated once, then cached) and its CLI.

    python -m garden.data --dataset=synthetic --out_dir=DIR [--num_examples=N --seed=S]

writes DIR/ranking and DIR/retrieval, each with train/test TFRecords, schema.yaml and
items.csv (every item's side information and training count).

    python -m garden.data --dataset=NAME --raw_dir=RAW --out_dir=DIR [--min_count=N ..]

converts a public dataset or a CSV log (see input/converters): movielens-100k, movielens-1m,
movielens-latest, criteo, avazu, taobao-userbehavior, amazon, csv (--csv_config=YAML) and
tfds:movielens/1m-ratings (and the other TFDS MovieLens variants).
"""
import json
import os
import shutil
import sys
import time

from absl import app, flags, logging

import garden  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from input import synthetic
from input.atomic import atomic_dir, make_temp_dir

# Bump when the generator changes, so cached worlds are regenerated.
WORLD_VERSION = 2  # 2: ranking data gains hist_session_id


def cache_root():
    return os.environ.get("GARDEN_CACHE", os.path.join(os.path.expanduser("~"), ".cache",
                                                       "garden"))


def synthetic_dir(num_examples, seed, log=print):
    """The cached synthetic world of that size and seed, generated if missing."""
    path = os.path.join(cache_root(), f"synthetic-v{WORLD_VERSION}-n{num_examples}-s{seed}")
    if os.path.exists(os.path.join(path, "retrieval", "schema.yaml")):
        return path
    log(f"Generating the synthetic world ({num_examples} examples, seed {seed}) in {path}")
    start = time.time()
    tmp = make_temp_dir(path)
    try:
        synthetic.write_world(tmp, synthetic.WorldConfig.for_size(num_examples, seed))
        try:
            os.rename(tmp, path)
        except OSError:  # another process finished the same world first
            if not os.path.exists(os.path.join(path, "retrieval", "schema.yaml")):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"  done in {time.time() - start:.1f}s")
    return path


def task_data_dir(data_config, task, log=print):
    """The folder holding schema.yaml and the TFRecords for a ranking or retrieval task."""
    if not data_config.data_dir and data_config.dataset != "synthetic":
        raise FileNotFoundError(
            f"this experiment is for the {data_config.dataset} dataset: convert it with "
            f"`python -m garden.data --dataset={data_config.dataset} --raw_dir=RAW "
            f"--out_dir=DIR` and pass --data_dir=DIR")
    root = data_config.data_dir or synthetic_dir(data_config.synthetic_examples,
                                                 data_config.synthetic_seed, log)
    for candidate in (root, os.path.join(root, task)):
        if os.path.exists(os.path.join(candidate, "schema.yaml")):
            _warn_other_dataset(data_config, root, log)
            return candidate
    raise FileNotFoundError(f"--data_dir={root}: no schema.yaml there or in {task}/")


def _warn_other_dataset(data_config, root, log):
    """A converted folder records its dataset in stats.json; say so when the experiment was
    written for another one (its settings may not fit)."""
    path = os.path.join(root, "stats.json")
    if data_config.dataset == "synthetic" or not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        converted = json.load(f).get("dataset")
    if converted and converted != data_config.dataset:
        log(f"warning: the experiment is for {data_config.dataset}, {root} holds {converted}")


FLAGS = flags.FLAGS

def main(argv):
    del argv
    if not FLAGS["verbosity"].present:  # TensorFlow's INFO lines are noise here
        logging.set_verbosity(logging.WARNING)
    if not FLAGS.out_dir:
        sys.exit("--out_dir is required")
    if FLAGS.dataset != "synthetic":
        convert_dataset()
        return
    start = time.time()
    config = synthetic.WorldConfig.for_size(FLAGS.num_examples, FLAGS.seed)
    with atomic_dir(FLAGS.out_dir) as tmp:
        synthetic.write_world(tmp, config)
    print(f"Wrote the synthetic world to {FLAGS.out_dir} in {time.time() - start:.1f}s "
          f"({config.num_users} users, {config.num_items} items)")


def convert_dataset():
    """--dataset=NAME other than synthetic: runs its converter; bad input exits with the
    converter's message."""
    from input import converters
    if not FLAGS.raw_dir and not FLAGS.dataset.startswith("tfds:"):
        sys.exit(f"--dataset={FLAGS.dataset} needs --raw_dir (the raw files' folder or file)")
    try:
        converters.convert(
            FLAGS.dataset, FLAGS.raw_dir, FLAGS.out_dir, min_count=FLAGS.min_count,
            side_min_count=FLAGS.side_min_count, hash_buckets=FLAGS.hash_buckets,
            hist_len=FLAGS.hist_len, test_fraction=FLAGS.test_fraction,
            num_shards=FLAGS.num_shards, seed=FLAGS.seed, csv_config=FLAGS.csv_config,
            num_buckets=FLAGS.num_buckets)
    except converters.ConversionError as e:
        sys.exit(f"error: {e}")


def define_flags():
    """Command-line flags, defined only when this module is the program."""
    flags.DEFINE_string("dataset", "synthetic", "Dataset to write: synthetic, movielens-100k, "
                        "movielens-1m, movielens-latest, criteo, avazu, taobao-userbehavior, "
                        "amazon, csv, tfds:movielens/1m-ratings (or another TFDS MovieLens).")
    flags.DEFINE_string("raw_dir", None, "Converters: folder (or file) of the raw data; for "
                        "tfds:, the TFDS data_dir (optional).")
    flags.DEFINE_string("csv_config", None, "--dataset=csv: YAML naming the user, item, time, "
                        "label and side-feature columns (see input/converters/csv_log.py).")
    flags.DEFINE_integer("min_count", None, "Converters: values seen fewer times map to the "
                         "OOV id 0 (default: 10 criteo, 5 avazu, 1 otherwise).")
    flags.DEFINE_integer("side_min_count", 1, "Converters: min count of side features.")
    flags.DEFINE_integer("hash_buckets", 0, "criteo/avazu: hash categorical strings into this "
                         "many buckets instead of building vocabularies.")
    flags.DEFINE_integer("hist_len", 50, "Converters: most recent events kept in histories.")
    flags.DEFINE_float("test_fraction", 0.1, "Converters: share of time held out (ranking).")
    flags.DEFINE_integer("num_shards", 0, "Converters: training shards (0: one per 200k rows).")
    flags.DEFINE_integer("num_buckets", 0, "Converters of event logs: a log of more than 2M "
                         "events is split by user into this many temporary files, converted "
                         "one at a time (memory: the largest bucket plus the vocabularies; "
                         "0: 64, about 1.6M events each for Taobao's 100M).")
    flags.DEFINE_string("out_dir", None, "Folder to write the dataset into.")
    flags.DEFINE_integer("num_examples", 300_000, "Synthetic: about this many ranking examples "
                         "(and as many retrieval examples).")
    flags.DEFINE_integer("seed", 0, "Random seed (synthetic world; converters: sampled "
                         "negatives and shard order).")


def run():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
