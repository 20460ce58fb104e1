import numpy as np
import tensorflow as tf

from layers.inner_product import InnerProduct
from tests.layers import contract


class InnerProductTest(tf.test.TestCase):

    def test_golden_value(self):
        # Pairs (0,1), (0,2), (1,2): <(1,2),(3,4)> = 11, <(1,2),(5,6)> = 17, <(3,4),(5,6)> = 39.
        v = tf.constant([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])
        self.assertAllClose(InnerProduct()(v), [[11.0, 17.0, 39.0]])

    def test_shape_and_pair_order(self):
        v = np.random.default_rng(0).normal(size=(3, 5, 4)).astype(np.float32)
        out = InnerProduct()(v)
        self.assertEqual(out.shape, (3, 10))
        expected = [np.sum(v[:, i] * v[:, j], -1) for i in range(5) for j in range(i + 1, 5)]
        self.assertAllClose(out, np.stack(expected, axis=1), rtol=1e-5, atol=1e-5)

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, InnerProduct(name="ipnn"))

    def test_mixed_bfloat16(self):
        v = np.random.default_rng(1).normal(size=(2, 4, 3)).astype(np.float32)
        contract.run_mixed_bfloat16(self, InnerProduct, tf.constant(v))


if __name__ == "__main__":
    tf.test.main()
