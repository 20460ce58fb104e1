import numpy as np
import tensorflow as tf

from layers.augru import AUGRU, AUGRUCell
from tests.layers import contract


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _constant_layer(**kwargs):
    layer = AUGRU(1, **kwargs)
    layer(tf.zeros([1, 2, 1]), tf.zeros([1, 2]), tf.ones([1, 2], tf.bool))
    layer.cell.kernel.assign(tf.ones([1, 3]))
    layer.cell.recurrent_kernel.assign(tf.ones([1, 3]))
    layer.cell.bias.assign(tf.zeros([3]))
    return layer


class AUGRUTest(tf.test.TestCase):

    def test_golden_value_two_steps(self):
        # All weights 1, biases 0, one unit: u = r = sigmoid(x + h), h~ = tanh(x + r h),
        # h_new = (1 - a u) h + a u h~.
        h, expected = 0.0, []
        for x, a in ((1.0, 0.5), (0.0, 1.0)):
            u = r = _sigmoid(x + h)
            candidate = np.tanh(x + r * h)
            h = (1 - a * u) * h + a * u * candidate
            expected.append(h)
        self.assertAllClose(expected[0], 0.5 * _sigmoid(1.0) * np.tanh(1.0))
        x = tf.constant([[[1.0], [0.0]]])
        attention = tf.constant([[0.5, 1.0]])
        mask = tf.ones([1, 2], tf.bool)
        self.assertAllClose(_constant_layer()(x, attention, mask), [[expected[1]]], atol=1e-6)
        steps = _constant_layer(return_sequences=True)(x, attention, mask)
        self.assertAllClose(steps, [[[expected[0]], [expected[1]]]], atol=1e-6)

    def test_zero_attention_never_updates(self):
        layer = AUGRU(3)
        x = tf.random.normal([2, 4, 5])
        out = layer(x, tf.zeros([2, 4]), tf.ones([2, 4], tf.bool))
        self.assertAllEqual(out, np.zeros((2, 3)))

    def test_padding_never_matters_and_empty_rows_are_zero(self):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(3, 6, 4)).astype(np.float32)
        a = rng.uniform(size=(3, 6)).astype(np.float32)
        mask = np.array([[1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0] * 6], bool)
        for return_sequences in (False, True):
            layer = AUGRU(5, return_sequences=return_sequences)
            clean = layer(x, a, mask)
            noisy = layer(contract.fill_padding(x, mask), contract.fill_padding(a, mask, 1),
                          mask)
            self.assertAllClose(clean, noisy, atol=1e-6)
            self.assertAllEqual(clean[2], np.zeros(clean.shape[1:]))
        self.assertEqual(clean.shape, (3, 6, 5))
        # The final state is the state after the last valid step.
        final = AUGRU(5)
        final(x, a, mask)
        final.set_weights(layer.get_weights())
        self.assertAllClose(final(x, a, mask)[0], clean[0, 2], atol=1e-6)

    def test_rejects_zero_units(self):
        with self.assertRaisesRegex(ValueError, "units"):
            AUGRUCell(0)

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, AUGRU(4, return_sequences=True))
        contract.assert_config_round_trip(self, AUGRUCell(4))

    def test_mixed_bfloat16(self):
        mask = tf.constant([[True, True, False]])
        contract.run_mixed_bfloat16(
            self, lambda: AUGRU(4), (tf.ones([1, 3, 2]), tf.fill([1, 3], 0.5)),
            call=lambda layer, x: layer(tf.cast(x[0], tf.bfloat16), x[1], mask))


if __name__ == "__main__":
    tf.test.main()
