import math

import numpy as np
import tensorflow as tf

from layers.unrolled_lstm import UnrolledLSTM
from tests.layers import contract


def _keras_twin(layer, inputs, seed=0):
    """A Keras LSTM with the layer's weights (random, bias too) -> (keras_lstm, weights)."""
    keras = tf.keras.layers.LSTM(layer.units, return_sequences=True)
    keras(inputs[:1])
    layer(inputs[:1])
    rng = np.random.default_rng(seed)
    for ours, theirs in zip(layer.cell.weights, keras.cell.weights):
        value = rng.normal(0, 0.5, size=ours.shape).astype(np.float32)
        ours.assign(value)
        theirs.assign(value)
    return keras


class UnrolledLSTMTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(1)
        self.inputs = tf.constant(rng.normal(size=(6, 5, 3)).astype(np.float32))
        self.mask = tf.sequence_mask([5, 3, 1, 0, 4, 2], 5)

    def test_output_shape(self):
        self.assertEqual(UnrolledLSTM(4)(self.inputs).shape, (6, 5, 4))

    def test_golden_value(self):
        # One unit, one input, kernel 1 for every gate, recurrent kernel 0, bias 0, x = [1, 2]:
        # c1 = s(1) t(1), h1 = s(1) t(c1); c2 = s(2) c1 + s(2) t(2), h2 = s(2) t(c2).
        layer = UnrolledLSTM(1)
        x = tf.constant([[[1.0], [2.0]]])
        layer(x)
        layer.cell.kernel.assign(tf.ones([1, 4]))
        layer.cell.recurrent_kernel.assign(tf.zeros([1, 4]))
        layer.cell.bias.assign(tf.zeros([4]))
        s = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
        c1 = s(1) * math.tanh(1)
        h1 = s(1) * math.tanh(c1)
        c2 = s(2) * c1 + s(2) * math.tanh(2)
        h2 = s(2) * math.tanh(c2)
        self.assertAllClose(layer(x), [[[h1], [h2]]], atol=1e-6)

    def test_matches_keras_lstm_values_and_gradients(self):
        for mask in (None, self.mask):
            layer = UnrolledLSTM(4)
            keras = _keras_twin(layer, self.inputs)
            weight = tf.constant(np.random.default_rng(2).normal(size=(6, 5, 4)), tf.float32)
            results = []
            for lstm, variables in ((layer, layer.cell.weights), (keras, keras.cell.weights)):
                with tf.GradientTape() as tape:
                    tape.watch(self.inputs)
                    out = lstm(self.inputs, mask=mask)
                    loss = tf.reduce_sum(out * weight)
                results.append([out] + tape.gradient(loss, [self.inputs] + variables))
            for ours, theirs in zip(*results):
                self.assertAllClose(ours, theirs, atol=1e-5)

    def test_keras_lstm_checkpoint_loads(self):
        layer = UnrolledLSTM(4)
        keras = tf.keras.layers.LSTM(4, return_sequences=True)
        keras(self.inputs)
        path = tf.train.Checkpoint(lstm=keras).save(self.get_temp_dir() + "/ckpt")
        layer(self.inputs)
        tf.train.Checkpoint(lstm=layer).restore(path).assert_existing_objects_matched()
        self.assertAllClose(layer(self.inputs, mask=self.mask),
                            keras(self.inputs, mask=self.mask), atol=1e-5)

    def test_mask_invariance(self):
        layer = UnrolledLSTM(4)
        filled = contract.fill_padding(self.inputs.numpy(), self.mask.numpy())
        out = layer(self.inputs, mask=self.mask)
        self.assertAllClose(out, layer(tf.constant(filled), mask=self.mask))
        self.assertAllEqual(out[3], tf.zeros([5, 4]))  # fully padded row
        self.assertAllEqual(out[2, 1], out[2, 0])  # masked steps repeat the last output

    def test_needs_static_length(self):
        with self.assertRaisesRegex(ValueError, "static sequence length"):
            UnrolledLSTM(2).build(tf.TensorShape([None, None, 3]))
        with self.assertRaisesRegex(ValueError, "units"):
            UnrolledLSTM(0)

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, UnrolledLSTM(3, name="lstm"))

    def test_mixed_bfloat16(self):
        contract.run_mixed_bfloat16(self, lambda: UnrolledLSTM(4), self.inputs,
                                    call=lambda layer, x: layer(x, mask=self.mask))


if __name__ == "__main__":
    tf.test.main()
