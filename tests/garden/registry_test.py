import subprocess
import sys

import tensorflow as tf

from garden import registry


class RegistryTest(tf.test.TestCase):

    def test_models_are_found_by_name(self):
        names = registry.list_models()
        self.assertContainsSubset(["deepfm", "sdm"], names)
        self.assertEqual(registry.get_model("sdm").task, "retrieval")
        self.assertIn("deepfm", registry.list_models("ranking"))
        self.assertNotIn("deepfm", registry.list_models("retrieval"))

    def test_unknown_name_lists_the_valid_ones(self):
        with self.assertRaisesRegex(KeyError, "unknown model 'sdmm'.*'deepfm'"):
            registry.get_model("sdmm")

    def test_double_registration_is_an_error(self):
        registry.list_models()  # "sdm" registered first, whatever ran before this test
        with self.assertRaisesRegex(ValueError, "registered twice"):
            registry.register_model("sdm", "retrieval", object)(lambda *a: None)


class Keras2Test(tf.test.TestCase):
    """TFRS needs Keras 2: the garden sets TF_USE_LEGACY_KERAS before tf.keras resolves."""

    def _keras_module(self, code):
        env = {k: v for k, v in __import__("os").environ.items() if k != "TF_USE_LEGACY_KERAS"}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, check=True)
        return out.stdout.strip().splitlines()[-1]

    def test_import_garden_gives_keras_2(self):
        self.assertStartsWith(self._keras_module(
            "import garden, tensorflow as tf; print(tf.keras.__name__)"), "tf_keras")

    def test_tensorflow_imported_first_still_gives_keras_2(self):
        self.assertStartsWith(self._keras_module(
            "import tensorflow as tf; import layers; import tensorflow_recommenders as tfrs; "
            "print(tf.keras.__name__)"), "tf_keras")


if __name__ == "__main__":
    tf.test.main()
