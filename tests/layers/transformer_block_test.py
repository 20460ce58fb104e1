import numpy as np
import tensorflow as tf

from layers.transformer_block import TransformerBlock
from tests.layers import contract


class TransformerBlockTest(tf.test.TestCase):

    X = tf.constant([[[1.0, 3.0]]])

    def _identity_block(self, layer_norm):
        """One position attends only to itself: with identity projections the attention output
        is x, and a zero FFN (its bias is zero too) adds nothing."""
        layer = TransformerBlock(num_heads=1, head_dim=2, layer_norm=layer_norm)
        layer(self.X)
        attention = layer.attention
        for dense in (attention.query_dense, attention.key_dense, attention.value_dense,
                      attention.output_dense):
            dense.kernel.assign(tf.eye(2))
        layer.ffn_outer.kernel.assign(tf.zeros([8, 2]))
        return layer

    def test_golden_value_single_position(self):
        # a = LayerNorm(2x), out = LayerNorm(a).
        layer = self._identity_block(layer_norm=True)
        eps = layer.attention_norm.epsilon
        a = np.array([-2.0, 2.0]) / np.sqrt(4.0 + eps)  # 2x = [2, 6]: mean 4, variance 4
        out = (a - a.mean()) / np.sqrt(a.var() + eps)
        self.assertAllClose(layer(self.X), [[out]], atol=1e-5)

    def test_golden_value_without_layer_norm(self):
        # Residuals only: a = 2x, out = a.
        layer = self._identity_block(layer_norm=False)
        self.assertAllClose(layer(self.X), [[[2.0, 6.0]]], atol=1e-6)
        self.assertFalse([w for w in layer.weights if "norm" in w.name])

    def test_padding_never_matters_and_empty_rows_are_zero(self):
        for layer_norm in (True, False):
            self._check_padding(TransformerBlock(num_heads=2, head_dim=3, ffn_dim=8,
                                                 layer_norm=layer_norm))

    def _check_padding(self, layer):
        x = np.random.default_rng(0).normal(size=(3, 5, 6)).astype(np.float32)
        mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [0] * 5], bool)
        clean = layer(x, mask)
        noisy = layer(contract.fill_padding(x, mask), mask)
        self.assertEqual(clean.shape, (3, 5, 6))
        self.assertAllClose(clean, noisy, atol=1e-5)
        self.assertAllEqual(clean.numpy()[~mask], np.zeros(((~mask).sum(), 6)))
        self.assertTrue(np.all(np.isfinite(clean.numpy())))

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, TransformerBlock(2, 4, ffn_dim=16,
                                                                 activation="leaky_relu",
                                                                 dropout=0.1,
                                                                 layer_norm=False))

    def test_mixed_bfloat16(self):
        mask = tf.constant([[True, True, False]])
        contract.run_mixed_bfloat16(self, lambda: TransformerBlock(2, 2),
                                    tf.random.normal([1, 3, 4]),
                                    call=lambda layer, x: layer(x, mask))


if __name__ == "__main__":
    tf.test.main()
