import os

from absl.testing import parameterized
import tensorflow as tf

from garden import config
from garden.config import ConfigError


class ConfigTest(tf.test.TestCase, parameterized.TestCase):

    def test_defaults_experiment_and_overrides_in_order(self):
        cfg = config.resolve("sdm")  # picks experiments/sdm_synthetic.yaml
        self.assertEqual(cfg.model.embedding_dim, 32)
        cfg = config.resolve("sdm", params_override="model.embedding_dim=16,train.epochs=3",
                             overrides={"train.epochs": 5})
        self.assertEqual(cfg.model.embedding_dim, 16)
        self.assertEqual(cfg.train.epochs, 5)

    def test_parse_overrides(self):
        self.assertEqual(config.parse_overrides("a.b=1,c=[64, 32],d=x,e=1e-3"),
                         {"a.b": 1, "c": [64, 32], "d": "x", "e": "1e-3"})
        cfg = config.resolve("deepfm", params_override="train.learning_rate=1e-3,"
                             "model.hidden_units=[8,4]")
        self.assertEqual(cfg.train.learning_rate, 0.001)
        self.assertEqual(cfg.model.hidden_units, [8, 4])

    @parameterized.named_parameters(
        ("unknown_key", "model.embeding_dim=3", r"unknown key\(s\) \['model.embeding_dim'\]"),
        ("unknown_section", "modle.x=3", r"unknown key\(s\) \['modle'\]"),
        ("wrong_type", "train.epochs=two", "train.epochs: expected an integer"),
        ("bool_for_int", "train.batch_size=true", "train.batch_size: expected an integer"),
        ("list_type", "model.hidden_units=[a]", r"model.hidden_units\[0\]"),
        ("range", "train.batch_size=0", "batch_size must be >= 1"),
        ("model_range", "model.embedding_dim=-4", "model.embedding_dim must be > 0"),
        ("not_key_value", "train.epochs", "expected key=value"),
    )
    def test_errors_name_the_key(self, override, message):
        with self.assertRaisesRegex(ConfigError, message):
            config.resolve("deepfm", params_override=override)

    def test_yaml_experiment_file_and_safe_loading(self):
        path = os.path.join(self.get_temp_dir(), "exp.yaml")
        with open(path, "w") as f:
            f.write("model_name: deepfm\ntrain: {epochs: 4}\n")
        self.assertEqual(config.resolve(experiment=path).train.epochs, 4)
        with self.assertRaisesRegex(ConfigError, "experiment for 'deepfm', not 'sdm'"):
            config.resolve("sdm", experiment=path)
        with open(path, "w") as f:
            f.write("model_name: !!python/object/apply:os.getcwd []\n")
        with self.assertRaisesRegex(ConfigError, "not valid YAML"):
            config.resolve(experiment=path)

    def test_unknown_experiment_and_model(self):
        with self.assertRaisesRegex(ConfigError, "known:.*sdm_synthetic"):
            config.resolve("sdm", experiment="sdm_nowhere")
        with self.assertRaisesRegex(KeyError, "registered models"):
            config.resolve("nosuchmodel")

    def test_save_load_round_trip(self):
        cfg = config.resolve("sdm", params_override="model.num_heads=4")
        path = os.path.join(self.get_temp_dir(), "config.yaml")
        config.save(cfg, path)
        self.assertEqual(config.load(path), cfg)


if __name__ == "__main__":
    tf.test.main()
