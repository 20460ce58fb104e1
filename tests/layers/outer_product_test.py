import numpy as np
import tensorflow as tf

from layers.outer_product import OuterProduct
from tests.layers import contract


class OuterProductTest(tf.test.TestCase):

    def test_golden_value(self):
        # f_S = (1, 0) + (0, 2) = (1, 2); f_S f_S^T = [[1, 2], [2, 4]].
        v = tf.constant([[[1.0, 0.0], [0.0, 2.0]]])
        self.assertAllClose(OuterProduct()(v), [[1.0, 2.0, 2.0, 4.0]])

    def test_shape_and_sum_of_pair_products(self):
        v = np.random.default_rng(0).normal(size=(3, 4, 5)).astype(np.float32)
        out = OuterProduct()(v)
        self.assertEqual(out.shape, (3, 25))
        expected = sum(np.einsum("bi,bj->bij", v[:, i], v[:, j]) for i in range(4)
                       for j in range(4)).reshape(3, 25)
        self.assertAllClose(out, expected, rtol=1e-4, atol=1e-4)

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, OuterProduct(name="opnn"))

    def test_mixed_bfloat16(self):
        v = np.random.default_rng(1).normal(size=(2, 4, 3)).astype(np.float32)
        contract.run_mixed_bfloat16(self, OuterProduct, tf.constant(v))


if __name__ == "__main__":
    tf.test.main()
