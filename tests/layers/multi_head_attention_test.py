import numpy as np
import tensorflow as tf

from layers.multi_head_attention import MultiHeadAttention
from tests.layers import contract


class MultiHeadAttentionTest(tf.test.TestCase):

    def test_golden_value_identity_projections(self):
        layer = MultiHeadAttention(num_heads=1, head_dim=2)
        x = tf.constant([[[1.0, 0.0], [0.0, 1.0]]])
        layer(x)
        for dense in (layer.query_dense, layer.key_dense, layer.value_dense):
            dense.kernel.assign(tf.eye(2))
        # scores = x x^T / sqrt(2); row 0 weights = softmax([1, 0] / sqrt(2)).
        w = np.exp(1 / np.sqrt(2)) / (np.exp(1 / np.sqrt(2)) + 1)
        self.assertAllClose(layer(x), [[[w, 1 - w], [1 - w, w]]], atol=1e-6)

    def test_shapes_heads_and_output_projection(self):
        layer = MultiHeadAttention(num_heads=3, head_dim=4, output_dim=5)
        self.assertEqual(layer(tf.random.normal([2, 6, 7])).shape, (2, 6, 5))
        cross = MultiHeadAttention(num_heads=2, head_dim=3)
        out = cross(tf.random.normal([2, 1, 4]), tf.random.normal([2, 5, 6]))
        self.assertEqual(out.shape, (2, 1, 6))

    def test_padding_never_matters(self):
        layer = MultiHeadAttention(num_heads=2, head_dim=3, output_dim=4)
        x = np.random.default_rng(0).normal(size=(3, 5, 4)).astype(np.float32)
        mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]], bool)
        clean = layer(x, query_mask=mask)
        noisy = layer(contract.fill_padding(x, mask), query_mask=mask)
        self.assertAllClose(clean, noisy, atol=1e-5)
        self.assertAllEqual(clean.numpy()[~mask], np.zeros(((~mask).sum(), 4)))

    def test_fully_padded_row_is_finite_zero(self):
        layer = MultiHeadAttention(num_heads=1, head_dim=2)
        out = layer(tf.random.normal([2, 3, 2]), query_mask=tf.constant([[False] * 3,
                                                                          [True] * 3]))
        self.assertTrue(np.all(np.isfinite(out.numpy())))
        self.assertAllEqual(out[0], np.zeros((3, 2)))

    def test_no_mask_equals_all_true_mask(self):
        # Without masks the layer takes a plain softmax; it must agree with the masked path.
        layer = MultiHeadAttention(num_heads=2, head_dim=3, output_dim=4)
        x = tf.random.normal([2, 5, 4], seed=3)
        self.assertAllClose(layer(x), layer(x, value_mask=tf.ones([2, 5], tf.bool)),
                            atol=1e-6)

    def test_mixed_bfloat16_without_mask(self):
        out = contract.run_mixed_bfloat16(self, lambda: MultiHeadAttention(2, 4),
                                          tf.random.normal([2, 3, 8]))
        self.assertEqual(out.shape, (2, 3, 8))

    def test_rejects_zero_heads(self):
        with self.assertRaisesRegex(ValueError, "num_heads"):
            MultiHeadAttention(num_heads=0, head_dim=2)

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, MultiHeadAttention(2, 8, output_dim=16,
                                                                   use_bias=True, dropout=0.1))

    def test_mixed_bfloat16(self):
        mask = tf.constant([[True, True, False]])
        contract.run_mixed_bfloat16(self, lambda: MultiHeadAttention(2, 4, output_dim=8),
                                    tf.random.normal([1, 3, 8]),
                                    call=lambda layer, x: layer(x, query_mask=mask))


if __name__ == "__main__":
    tf.test.main()
