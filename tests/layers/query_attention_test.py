import numpy as np
import tensorflow as tf

from layers.query_attention import QueryAttention
from tests.layers import contract


class QueryAttentionTest(tf.test.TestCase):

    def test_golden_value(self):
        q = tf.constant([[1.0, 0.0]])
        keys = tf.constant([[[2.0, 0.0], [0.0, 1.0], [50.0, 50.0]]])
        mask = tf.constant([[True, True, False]])
        a = np.exp(2.0) / (np.exp(2.0) + 1.0)  # softmax([2, 0])
        self.assertAllClose(QueryAttention()(q, keys, mask), [[2 * a, 1 - a]], atol=1e-6)
        scaled = np.exp(2 / np.sqrt(2)) / (np.exp(2 / np.sqrt(2)) + 1.0)
        self.assertAllClose(QueryAttention(scale=True)(q, keys, mask), [[2 * scaled,
                                                                         1 - scaled]])

    def test_separate_values_padding_and_empty_rows(self):
        rng = np.random.default_rng(0)
        q = rng.normal(size=(3, 4)).astype(np.float32)
        keys = rng.normal(size=(3, 5, 4)).astype(np.float32)
        values = rng.normal(size=(3, 5, 6)).astype(np.float32)
        mask = np.array([[1, 1, 0, 0, 0], [0] * 5, [1] * 5], bool)
        layer = QueryAttention()
        out = layer(q, keys, mask, values)
        self.assertEqual(out.shape, (3, 6))
        noisy = layer(q, contract.fill_padding(keys, mask), mask,
                      contract.fill_padding(values, mask, seed=1))
        self.assertAllClose(out, noisy, atol=1e-6)
        self.assertAllEqual(out[1], np.zeros(6))

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, QueryAttention(scale=True))

    def test_mixed_bfloat16(self):
        mask = tf.constant([[True, False]])
        contract.run_mixed_bfloat16(self, QueryAttention, (tf.ones([1, 3]), tf.ones([1, 2, 3])),
                                    call=lambda layer, x: layer(tf.cast(x[0], tf.bfloat16),
                                                                tf.cast(x[1], tf.bfloat16),
                                                                mask))


if __name__ == "__main__":
    tf.test.main()
