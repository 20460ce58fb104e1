import numpy as np
import tensorflow as tf

from layers.feature_embedding import FeatureEmbedding
from tests.layers import contract


class FeatureEmbeddingTest(tf.test.TestCase):

    def _layer(self):
        return FeatureEmbedding({"item": [4, 2], "user": [3, 2]},
                                {"item_id": "item", "hist_item_id": "item", "user_id": "user"})

    def test_golden_value_shared_table(self):
        layer = self._layer()
        inputs = {"item_id": tf.constant([1, 3]), "hist_item_id": tf.constant([[2, 0], [1, 1]]),
                  "user_id": tf.constant([2, 1])}
        layer(inputs)
        layer.embeddings["item"].assign([[0, 0], [1, 10], [2, 20], [3, 30]])
        layer.embeddings["user"].assign([[0, 0], [-1, -1], [-2, -2]])
        out = layer(inputs)
        self.assertAllClose(out["item_id"], [[1, 10], [3, 30]])
        self.assertAllClose(out["hist_item_id"], [[[2, 20], [0, 0]], [[1, 10], [1, 10]]])
        self.assertAllClose(out["user_id"], [[-2, -2], [-1, -1]])
        self.assertLen(layer.trainable_variables, 2)  # the shared table exists once

    def test_tables_start_different(self):
        layer = FeatureEmbedding({"a": [50, 4], "b": [50, 4]}, {"a": "a", "b": "b"})
        layer({"a": tf.constant([1]), "b": tf.constant([1])})
        self.assertNotAllClose(layer.embeddings["a"], layer.embeddings["b"])

    def test_ignores_extra_inputs_and_rejects_unknown_tables(self):
        out = self._layer()({"item_id": tf.constant([1]), "other": tf.constant([5])})
        self.assertEqual(sorted(out), ["item_id"])
        with self.assertRaisesRegex(ValueError, "tables.*not defined"):
            FeatureEmbedding({"a": [3, 2]}, {"x": "b"})

    def test_l2_penalty_on_looked_up_rows(self):
        layer = FeatureEmbedding({"a": [3, 1]}, {"a": "a"}, l2=0.5)
        inputs = {"a": tf.constant([1, 2])}
        layer(inputs)
        layer.embeddings["a"].assign([[9.0], [1.0], [2.0]])
        layer(inputs)
        self.assertAllClose(layer.losses[-1], 0.5 * (1.0 + 4.0) / 2)  # row 0 not looked up

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, FeatureEmbedding(
            {"item": [4, 2]}, {"item_id": "item"}, embeddings_initializer="zeros", l2=1e-3))

    def test_mixed_bfloat16_tables_stay_float32(self):
        contract.run_mixed_bfloat16(self, self._layer, {"item_id": tf.constant([1, 2]),
                                                        "user_id": tf.constant([0, 1])})


if __name__ == "__main__":
    tf.test.main()
