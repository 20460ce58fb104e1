import numpy as np
import tensorflow as tf

from layers.bias_encoding import BiasEncoding
from tests.layers import contract


class BiasEncodingTest(tf.test.TestCase):

    def test_golden_value(self):
        layer = BiasEncoding()
        x = tf.zeros([1, 2, 3, 2])
        layer(x)
        layer.session_bias.assign(np.reshape([1.0, 2.0], (2, 1, 1)))
        layer.position_bias.assign(np.reshape([10.0, 20.0, 30.0], (1, 3, 1)))
        layer.unit_bias.assign(np.reshape([100.0, 200.0], (1, 1, 2)))
        out = layer(x).numpy()
        self.assertEqual(out.shape, (1, 2, 3, 2))
        self.assertAllClose(out[0, 1, 2], [2 + 30 + 100, 2 + 30 + 200])
        self.assertAllClose(out[0, 0, 0], [111, 211])
        mask = tf.constant([[[True, True, False], [True, False, False]]])
        masked = layer(x + 1.0, mask).numpy()
        self.assertAllClose(masked[0, 0, 1], [1 + 1 + 20 + 100, 1 + 1 + 20 + 200])
        self.assertAllEqual(masked[0, 1, 1:], np.zeros((2, 2)))

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, BiasEncoding(initializer="ones"))

    def test_mixed_bfloat16(self):
        mask = tf.constant([[[True, False]]])
        contract.run_mixed_bfloat16(self, BiasEncoding, tf.random.normal([1, 1, 2, 3]),
                                    call=lambda layer, x: layer(tf.cast(x, tf.bfloat16), mask))


if __name__ == "__main__":
    tf.test.main()
