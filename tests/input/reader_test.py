import os

import numpy as np
import tensorflow as tf

from input.integrity import DataCounters
from input.reader import make_dataset, pad_truncate, parse_batch, validate_files
from input.specs import FeatureSpec, Schema, SchemaError
from input.writer import write_tfrecords
from tests.input.specs_test import example_schema

COLUMNS = {
    "user_id": np.array([1, 2, 15]),  # 15 is out of vocabulary (10)
    "query": np.array(["shoes", "", "hats"]),
    "item_id": np.array([3, 4, 5]),
    "hist_item_id": [np.array([1, 2, 3, 4, 5, 6, 7]), np.array([], np.int64), np.array([9, 25])],
    "price": np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]),
    "click": np.array([1.0, 0.0, 1.0]),
    "w": np.array([1.0, 2.0, 0.5]),
}


class ReaderTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.schema = example_schema()
        self.paths = write_tfrecords(self.schema, COLUMNS, self.get_temp_dir(), "train", 2)

    def _batch(self):
        pattern = os.path.join(self.get_temp_dir(), "train-*")
        return next(iter(make_dataset(self.schema, pattern, 8, training=False)))

    def test_parses_whole_batches_with_dense_shapes(self):
        features, labels = self._batch()
        self.assertAllEqual(features["user_id"], [1, 2, 0])  # OOV id -> row 0
        self.assertAllEqual(features["price"], COLUMNS["price"])
        self.assertEqual(sorted(labels), ["click", "w"])
        self.assertAllEqual(labels["w"], [1.0, 2.0, 0.5])
        self.assertNotIn("click", features)

    def test_counts_oov_ids_per_feature(self):
        counters = DataCounters(self.schema)
        pattern = os.path.join(self.get_temp_dir(), "train-*")
        for _ in make_dataset(self.schema, pattern, 8, training=False, counters=counters):
            pass
        # user 15 (vocab 10); hist 25 (item vocab 20) is the one the reader keeps as OOV.
        vocab = self.schema.vocab_size("hist_item_id")
        expected_hist = sum(int(np.sum(np.asarray(h) >= vocab)) for h in
                            COLUMNS["hist_item_id"])
        self.assertEqual(counters.values().get("oov/user_id"), 1)
        self.assertEqual(counters.values().get("oov/hist_item_id", 0), expected_hist)

    def test_nonfinite_values_rejected_or_zeroed(self):
        columns = dict(COLUMNS, price=np.array([[1.0, np.nan], [3.0, 4.0], [np.inf, 6.0]]))
        folder = os.path.join(self.get_temp_dir(), "nan")
        write_tfrecords(self.schema, columns, folder, "train", 1)
        pattern = os.path.join(folder, "train-*")
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                    "feature .+price.+ has NaN or Inf values"):
            next(iter(make_dataset(self.schema, pattern, 8, training=False)))
        specs = [FeatureSpec(**dict(s.to_dict(), nonfinite="zero")) if s.name == "price"
                 else s for s in self.schema]
        schema = Schema(specs)
        counters = DataCounters(schema)
        features, _ = next(iter(make_dataset(schema, pattern, 8, training=False,
                                             counters=counters)))
        self.assertAllEqual(features["price"], [[1.0, 0.0], [3.0, 4.0], [0.0, 6.0]])
        self.assertEqual(counters.values()["nonfinite/price"], 2)

    def test_record_limits_and_skip_batches(self):
        pattern = os.path.join(self.get_temp_dir(), "train-*")
        limited = make_dataset(self.schema, pattern, 1, training=False,
                               record_limits={self.paths[0]: 1})
        self.assertEqual(sum(1 for _ in limited), 1 + (3 - len(self._records(self.paths[0]))))
        full = [f["item_id"].numpy()[0] for f, _ in
                make_dataset(self.schema, pattern, 1, training=False)]
        skipped = [f["item_id"].numpy()[0] for f, _ in
                   make_dataset(self.schema, pattern, 1, training=False, skip_batches=2)]
        self.assertEqual(skipped, full[2:])

    def _records(self, path):
        return list(tf.data.TFRecordDataset(path))

    def test_sequences_keep_the_most_recent_items(self):
        features, _ = self._batch()
        self.assertAllEqual(features["hist_item_id"], [[3, 4, 5, 6, 7], [0] * 5,
                                                       [9, 0, 0, 0, 0]])  # 25 is OOV
        self.assertAllEqual(features["hist_item_id_len"], [5, 0, 2])
        self.assertEqual(features["hist_item_id_len"].dtype, tf.int32)

    def test_pad_truncate(self):
        ragged = tf.ragged.constant([[1, 2, 3], [4], []], tf.int64)
        dense, length = pad_truncate(ragged, 2)
        self.assertAllEqual(dense, [[2, 3], [4, 0], [0, 0]])
        self.assertAllEqual(length, [2, 1, 0])

    def test_hashed_strings(self):
        features, _ = self._batch()
        ids = features["query"].numpy()
        self.assertEqual(ids[1], 0)  # empty string is padding
        self.assertTrue(all(1 <= i < 100 for i in ids[[0, 2]]))
        again, _ = self._batch()
        self.assertAllEqual(again["query"], ids)

    def test_serving_parse_without_labels_and_subset(self):
        raw = next(iter(tf.data.TFRecordDataset(self.paths).batch(3)))
        features, labels = parse_batch(self.schema, raw, with_labels=False, names=["item_id"])
        self.assertEqual(labels, {})
        self.assertEqual(sorted(features), ["item_id"])

    def test_training_shuffles_reproducibly(self):
        pattern = os.path.join(self.get_temp_dir(), "train-*")
        order = lambda: np.concatenate([f["item_id"].numpy() for f, _ in make_dataset(
            self.schema, pattern, 2, training=True, seed=3)])
        self.assertAllEqual(order(), order())
        self.assertCountEqual(order(), [3, 4, 5])

    def test_parses_only_the_features_asked_for_and_every_label(self):
        pattern = os.path.join(self.get_temp_dir(), "train-*")
        features, labels = next(iter(make_dataset(self.schema, pattern, 8, training=True,
                                                  seed=1, features=["hist_item_id"])))
        self.assertEqual(sorted(features), ["hist_item_id", "hist_item_id_len"])
        self.assertEqual(sorted(labels), ["click", "w"])
        with self.assertRaisesRegex(SchemaError, "nope"):
            make_dataset(self.schema, pattern, 8, training=True, features=["nope"])

    def test_in_memory_training_shows_every_example_once_per_epoch(self):
        pattern = os.path.join(self.get_temp_dir(), "train-*")
        streamed, _ = self._batch()

        def stream(seed, skip=0, batches=6):
            ds = make_dataset(self.schema, pattern, 2, training=True, seed=seed, repeat=True,
                              in_memory=True, skip_batches=skip)
            return [(f, l) for f, l in ds.take(batches)]
        batches = stream(seed=3)
        items = np.concatenate([f["item_id"].numpy() for f, _ in batches])
        # Batches of 2 run on across epochs of 3 examples: each epoch a permutation.
        self.assertAllEqual([len(f["item_id"]) for f, _ in batches], [2] * 6)
        for epoch in range(4):
            self.assertCountEqual(items[3 * epoch:3 * epoch + 3], [3, 4, 5])
        self.assertAllEqual(items, np.concatenate(
            [f["item_id"].numpy() for f, _ in stream(seed=3)]))  # seeded: the same stream
        skipped = np.concatenate([f["item_id"].numpy() for f, _ in stream(3, skip=2,
                                                                          batches=4)])
        self.assertAllEqual(skipped, items[4:])  # a resumed run continues the stream
        # Rows stay whole: every tensor of an example comes from the same record.
        by_item = {int(i): k for k, i in enumerate(streamed["item_id"].numpy())}
        for features, labels in batches:
            for row, item in enumerate(features["item_id"].numpy()):
                k = by_item[int(item)]
                self.assertAllEqual(features["hist_item_id"][row], streamed["hist_item_id"][k])
                self.assertAllEqual(features["price"][row], streamed["price"][k])
                record = list(COLUMNS["item_id"]).index(item)
                self.assertEqual(labels["w"][row], COLUMNS["w"][record])

    def test_missing_feature_names_file_and_feature(self):
        other = Schema([s for s in self.schema if s.name != "price"])
        path = write_tfrecords(other, COLUMNS, self.get_temp_dir(), "nop", 1)[0]
        with self.assertRaisesRegex(SchemaError, f"{path}: feature 'price'.*missing"):
            validate_files(self.schema, [path])

    def test_wrong_type_names_file_and_feature(self):
        schema = Schema([FeatureSpec("item_id", "sparse", vocab_size=9)])
        floats = Schema([FeatureSpec("item_id", "dense", dtype="float32")])
        path = write_tfrecords(floats, {"item_id": np.array([1.0])}, self.get_temp_dir(),
                               "f", 1)[0]
        with self.assertRaisesRegex(SchemaError, f"{path}.*'item_id' holds float_list"):
            make_dataset(schema, path, 4, training=True)

    def test_wrong_length_names_file_and_feature(self):
        schema = Schema([FeatureSpec("price", "dense", dtype="float32", dim=3)])
        with self.assertRaisesRegex(SchemaError, "'price' has 2 values, the schema says 3"):
            validate_files(schema, self.paths)

    def test_not_a_tfrecord_file(self):
        path = os.path.join(self.get_temp_dir(), "junk.tfrecord")
        with open(path, "wb") as f:
            f.write(b"this is not a tfrecord file at all" * 10)
        with self.assertRaisesRegex(SchemaError, "junk.tfrecord: not a readable TFRecord"):
            validate_files(self.schema, [path])

    def test_no_files(self):
        with self.assertRaisesRegex(FileNotFoundError, "no files match"):
            make_dataset(self.schema, os.path.join(self.get_temp_dir(), "none-*"), 4, False)

    def test_writer_rejects_bad_columns(self):
        with self.assertRaisesRegex(ValueError, "no values given for features"):
            write_tfrecords(self.schema, {"user_id": [1]}, self.get_temp_dir(), "x")
        bad = dict(COLUMNS, price=np.ones((3, 3)))
        with self.assertRaisesRegex(ValueError, "'price' has 3 values per row"):
            write_tfrecords(self.schema, bad, self.get_temp_dir(), "x")
        self.assertEqual([n for n in os.listdir(self.get_temp_dir()) if n.startswith(".")], [])


if __name__ == "__main__":
    tf.test.main()
