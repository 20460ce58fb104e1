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

    def test_list_input_matches_concatenation(self):
        # Same weights: a list of parts gives the values and gradients of their concatenation.
        parts = [tf.random.normal([6, 5]), tf.random.normal([6, 1]), tf.random.normal([6, 3])]
        split, joined = MLP([4, 2], batch_norm=True), MLP([4, 2], batch_norm=True)
        split(parts)
        joined(tf.concat(parts, axis=1))
        self.assertEqual(split.dense_layers[0].kernel.shape, (9, 4))
        joined.set_weights(split.get_weights())
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(parts)
            out_split = split(parts, training=True)
            out_joined = joined(tf.concat(parts, axis=1), training=True)
            loss_split, loss_joined = (tf.reduce_sum(out_split ** 2),
                                       tf.reduce_sum(out_joined ** 2))
        self.assertAllClose(out_split, out_joined, atol=1e-5)
        for a, b in zip(tape.gradient(loss_split, parts + split.trainable_weights),
                        tape.gradient(loss_joined, parts + joined.trainable_weights)):
            self.assertAllClose(a, b, atol=1e-5)

    def test_list_input_errors(self):
        layer = MLP([2])
        layer([tf.zeros([1, 2]), tf.zeros([1, 3])])
        with self.assertRaisesRegex(ValueError, "2 input parts, got 1"):
            layer([tf.zeros([1, 5])])
        with self.assertRaisesRegex(ValueError, "list of tensors exactly when"):
            layer(tf.zeros([1, 5]))
        with self.assertRaisesRegex(ValueError, "takes one tensor"):
            MLP([])([tf.zeros([1, 2]), tf.zeros([1, 3])])

    def test_list_input_mixed_bfloat16(self):
        contract.run_mixed_bfloat16(self, lambda: MLP([4]),
                                    [tf.random.normal([3, 5]), tf.random.normal([3, 2])])


if __name__ == "__main__":
    tf.test.main()
