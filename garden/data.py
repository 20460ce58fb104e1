"""Data for the garden: the synthetic world (generated once, then cached) and its CLI.

    python -m garden.data --dataset=synthetic --out_dir=DIR [--num_examples=N --seed=S]

writes DIR/ranking and DIR/retrieval, each with train/test TFRecords, schema.yaml and
items.csv (every item's side information and training count).
"""
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
    root = data_config.data_dir or synthetic_dir(data_config.synthetic_examples,
                                                 data_config.synthetic_seed, log)
    for candidate in (root, os.path.join(root, task)):
        if os.path.exists(os.path.join(candidate, "schema.yaml")):
            return candidate
    raise FileNotFoundError(f"--data_dir={root}: no schema.yaml there or in {task}/")


FLAGS = flags.FLAGS

def main(argv):
    del argv
    if not FLAGS["verbosity"].present:  # TensorFlow's INFO lines are noise here
        logging.set_verbosity(logging.WARNING)
    if FLAGS.dataset != "synthetic":
        sys.exit(f"--dataset={FLAGS.dataset}: only 'synthetic' is available")
    if not FLAGS.out_dir:
        sys.exit("--out_dir is required")
    start = time.time()
    config = synthetic.WorldConfig.for_size(FLAGS.num_examples, FLAGS.seed)
    with atomic_dir(FLAGS.out_dir) as tmp:
        synthetic.write_world(tmp, config)
    print(f"Wrote the synthetic world to {FLAGS.out_dir} in {time.time() - start:.1f}s "
          f"({config.num_users} users, {config.num_items} items)")


def define_flags():
    """Command-line flags, defined only when this module is the program."""
    flags.DEFINE_string("dataset", "synthetic", "Dataset to write: synthetic.")
    flags.DEFINE_string("out_dir", None, "Folder to write the dataset into.")
    flags.DEFINE_integer("num_examples", 300_000, "Synthetic: about this many ranking examples "
                         "(and as many retrieval examples).")
    flags.DEFINE_integer("seed", 0, "Synthetic: random seed.")


def run():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
