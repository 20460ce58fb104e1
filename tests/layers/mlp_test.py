import tensorflow as tf

from layers.mlp import MLP
from tests.layers import contract


class MLPTest(tf.test.TestCase):

    def test_golden_value(self):
        layer = MLP([2], activation="relu")
        layer(tf.zeros([1, 3]))
        layer.dense_layers[0].kernel.assign(tf.ones([3, 2]))
        layer.dense_layers[0].bias.assign([0.0, -5.0])
        # x . 1 = 2 for both units; relu(2 + 0) = 2, relu(2 - 5) = 0.
        self.assertAllClose(layer(tf.constant([[1.0, -2.0, 3.0]])), [[2.0, 0.0]])

    def test_shapes_and_dropout_only_in_training(self):
        layer = MLP([8, 4], dropout=0.5, batch_norm=True)
        x = tf.random.normal([16, 5])
        self.assertEqual(layer(x, training=True).shape, (16, 4))
        self.assertAllClose(layer(x, training=False), layer(x, training=False))

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, MLP([4, 2], activation="tanh", dropout=0.1,
                                                    batch_norm=True, l2=1e-4))

    def test_mixed_bfloat16(self):
        contract.run_mixed_bfloat16(self, lambda: MLP([4], batch_norm=True),
                                    tf.random.normal([3, 5]))


if __name__ == "__main__":
    tf.test.main()
