"""Input pipeline throughput: garden's make_dataset beside a bare tf.data floor.

    python tools/bench_input.py [--data_dir=DIR] [--family=retrieval] [--batch_size=1024]

The floor is TFRecordDataset -> batch -> tf.io.parse_example -> prefetch on the same files:
no shuffling, no padding, reading the files one after the other and with parallel reads
(num_parallel_reads=AUTOTUNE), whichever is faster on the machine (on a 2-core VM parallel reads
were 5-12x slower). The garden's pipeline adds file and record shuffling, sequence
padding/truncation and OOV mapping. After a warm-up pass, runs alternate (floors, garden,
floors, ...) and the median examples/s of each is printed with the ratio of the garden's to
the faster floor (this shared machine is noisy: single passes vary by +-30%).
"""
import argparse
import os
import statistics
import time

import garden  # noqa: F401  (Keras 2 before TensorFlow loads)
import tensorflow as tf

from garden import data
from input.reader import list_files, make_dataset, parse_spec
from input.specs import Schema


def floor_dataset(schema, files, batch_size, parallel_reads):
    spec = parse_spec(schema)
    ds = tf.data.TFRecordDataset(files,
                                 num_parallel_reads=tf.data.AUTOTUNE if parallel_reads else None)
    ds = ds.batch(batch_size).map(lambda s: tf.io.parse_example(s, spec), tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def examples_per_second(dataset, key):
    start, n = time.perf_counter(), 0
    for batch in dataset:
        features = batch[0] if isinstance(batch, tuple) else batch
        n += int(features[key].shape[0])
    return n / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", default="", help="default: the cached synthetic world")
    parser.add_argument("--family", default="retrieval", choices=["ranking", "retrieval"])
    parser.add_argument("--batch_size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    root = args.data_dir or data.synthetic_dir(300_000, 0)
    folder = os.path.join(root, args.family) if os.path.isdir(
        os.path.join(root, args.family)) else root
    schema = Schema.load(folder)
    pattern = os.path.join(folder, "train-*.tfrecord")
    files = list_files(pattern)
    key = schema.features[0].name
    floors = {"sequential reads": False, "parallel reads": True}  # name: parallel_reads
    floor_rates = {name: [] for name in floors}
    garden_rates = []
    examples_per_second(floor_dataset(schema, files, args.batch_size, False), key)  # file cache
    for _ in range(args.repeats):
        for name, parallel_reads in floors.items():
            floor_rates[name].append(examples_per_second(
                floor_dataset(schema, files, args.batch_size, parallel_reads), key))
        garden_rates.append(examples_per_second(
            make_dataset(schema, pattern, args.batch_size, training=True, seed=1), key))
    print(f"{folder}: {len(files)} files, batch {args.batch_size}, {os.cpu_count()} CPUs")
    for name, rates in floor_rates.items():
        print(f"floor  (TFRecordDataset + parse_example, {name}): "
              f"{statistics.median(rates):12,.0f} examples/s")
    f = max(statistics.median(rates) for rates in floor_rates.values())
    g = statistics.median(garden_rates)
    print(f"garden (make_dataset, shuffled, padded): {g:12,.0f} examples/s")
    print(f"ratio garden/faster floor: {g / f:.2f}")


if __name__ == "__main__":
    main()
