import numpy as np
import tensorflow as tf

from layers.linear import Linear
from tests.layers import contract


class LinearTest(tf.test.TestCase):

    def test_golden_value(self):
        layer = Linear({"a": 3, "b": 2})
        ids = {"a": tf.constant([2, 0]), "b": tf.constant([1, 1])}
        dense = tf.constant([[1.0], [2.0]])
        layer(ids, dense)
        layer.weights_layer.embeddings["a"].assign([[0.0], [0.5], [1.0]])
        layer.weights_layer.embeddings["b"].assign([[0.0], [2.0]])
        layer.dense_layer.kernel.assign([[3.0]])
        layer.bias.assign([0.25])
        # row 0: 1.0 + 2.0 + 3 * 1 + 0.25; row 1: 0 + 2.0 + 3 * 2 + 0.25
        self.assertAllClose(layer(ids, dense), [[6.25], [8.25]])

    def test_starts_at_zero_and_shape(self):
        out = Linear({"a": 5})({"a": tf.constant([1, 2, 3])})
        self.assertAllEqual(out, np.zeros((3, 1)))

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, Linear({"a": 3, "b": 7}, use_bias=False))

    def test_mixed_bfloat16(self):
        contract.run_mixed_bfloat16(self, lambda: Linear({"a": 4}),
                                    ({"a": tf.constant([1, 3])}, tf.constant([[0.5], [1.0]])),
                                    call=lambda layer, x: layer(*x))


if __name__ == "__main__":
    tf.test.main()
