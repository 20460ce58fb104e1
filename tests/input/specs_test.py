import os

from absl.testing import parameterized
import tensorflow as tf

from input.specs import FeatureSpec, Schema, SchemaError


def example_schema():
    return Schema([
        FeatureSpec("user_id", "sparse", vocab_size=10, embedding_dim=8, group="user"),
        FeatureSpec("query", "sparse", hash_buckets=100, dtype="string", group="context"),
        FeatureSpec("item_id", "sparse", vocab_size=20, group="item"),
        FeatureSpec("hist_item_id", "sequence", max_len=5, shared_with="item_id", group="user"),
        FeatureSpec("price", "dense", dtype="float32", dim=2),
        FeatureSpec("click", "label", dtype="float32"),
        FeatureSpec("w", "weight", dtype="float32"),
    ])


class SchemaTest(tf.test.TestCase, parameterized.TestCase):

    def test_yaml_round_trip(self):
        schema = example_schema()
        path = os.path.join(self.get_temp_dir(), "schema.yaml")
        schema.save(path)
        self.assertEqual(Schema.load(path), schema)
        self.assertEqual(Schema.load(self.get_temp_dir()), schema)  # a folder works too
        self.assertEqual(oct(os.stat(path).st_mode & 0o777), oct(0o666 & ~_umask()))

    def test_shared_tables(self):
        schema = example_schema()
        self.assertEqual(schema["hist_item_id"].table, "item_id")
        self.assertEqual(schema.vocab_size("hist_item_id"), 20)
        self.assertEqual(schema.vocab_size("query"), 100)
        self.assertEqual([s.name for s in schema.of_group("user")], ["user_id", "hist_item_id"])

    @parameterized.named_parameters(
        ("bad_kind", dict(name="a", kind="embedding"), "kind must be one of"),
        ("no_vocab", dict(name="a", kind="sparse"), "exactly one of vocab_size and hash"),
        ("both_vocab", dict(name="a", kind="sparse", vocab_size=3, hash_buckets=3,
                            dtype="string"), "exactly one"),
        ("hash_needs_string", dict(name="a", kind="sparse", hash_buckets=8), "dtype 'string'"),
        ("seq_no_len", dict(name="a", kind="sequence", vocab_size=3), "max_len >= 1"),
        ("negative", dict(name="a", kind="sparse", vocab_size=-3), "vocab_size must be >= 0"),
        ("dense_int", dict(name="a", kind="dense"), "float32"),
        ("bad_name", dict(name="a b", kind="dense", dtype="float32"), "names are"),
        ("tiny_vocab", dict(name="a", kind="sparse", vocab_size=1), "at least 2 rows"),
    )
    def test_bad_specs_name_the_feature(self, kwargs, message):
        with self.assertRaisesRegex(SchemaError, message):
            FeatureSpec(**kwargs)

    def test_bad_schemas(self):
        a = FeatureSpec("a", "sparse", vocab_size=3)
        with self.assertRaisesRegex(SchemaError, "'a' appears twice"):
            Schema([a, a])
        with self.assertRaisesRegex(SchemaError, "shared_with='zzz'"):
            Schema([FeatureSpec("s", "sequence", max_len=2, shared_with="zzz")])
        with self.assertRaisesRegex(SchemaError, "s_len clashes"):
            Schema([FeatureSpec("s", "sequence", max_len=2, vocab_size=3),
                    FeatureSpec("s_len", "dense", dtype="float32")])
        with self.assertRaisesRegex(KeyError, "not in the schema"):
            Schema([a])["b"]

    def test_bad_yaml_names_the_file_and_key(self):
        path = os.path.join(self.get_temp_dir(), "bad.yaml")
        with open(path, "w") as f:
            f.write("features:\n  - {name: a, kind: sparse, vocab: 3}\n")
        with self.assertRaisesRegex(SchemaError, "bad.yaml.*'a'.*unknown keys.*vocab"):
            Schema.load(path)
        with open(path, "w") as f:
            f.write("features: !!python/object/apply:os.system ['true']\n")
        with self.assertRaisesRegex(SchemaError, "not valid YAML"):
            Schema.load(path)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


if __name__ == "__main__":
    tf.test.main()
