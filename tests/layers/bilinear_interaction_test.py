import itertools

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from layers.bilinear_interaction import BilinearInteraction
from tests.layers import contract


class BilinearInteractionTest(tf.test.TestCase, parameterized.TestCase):

    def test_golden_value_field_all(self):
        # W = [[0, 1], [1, 0]] swaps the two coordinates of v_i before the product.
        x = tf.constant([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])
        layer = BilinearInteraction("all")
        layer(x)
        layer.kernel.assign([[[0.0, 1.0], [1.0, 0.0]]])
        # pairs (0,1): (2,1)*(3,4); (0,2): (2,1)*(5,6); (1,2): (4,3)*(5,6)
        self.assertAllClose(layer(x), [[[6.0, 4.0], [10.0, 6.0], [20.0, 18.0]]])

    def test_golden_value_field_each(self):
        x = tf.constant([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])
        layer = BilinearInteraction("each")
        layer(x)
        # W_0 = 2 I, W_1 = diag(0, 1); pairs (0,1), (0,2) use W_0, (1,2) uses W_1.
        layer.kernel.assign([2 * np.eye(2), np.diag([0.0, 1.0])])
        self.assertAllClose(layer(x), [[[6.0, 16.0], [10.0, 24.0], [0.0, 24.0]]])

    def test_golden_value_field_interaction(self):
        x = tf.constant([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])
        layer = BilinearInteraction("interaction")
        layer(x)
        layer.kernel.assign([np.eye(2), np.zeros((2, 2)), -np.eye(2)])
        self.assertAllClose(layer(x), [[[3.0, 8.0], [0.0, 0.0], [-15.0, -24.0]]])

    @parameterized.parameters("all", "each", "interaction")
    def test_matches_pairwise_definition(self, bilinear_type):
        x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype(np.float32)
        layer = BilinearInteraction(bilinear_type)
        out = layer(x)
        w = layer.kernel.numpy()
        self.assertEqual(w.shape[0], {"all": 1, "each": 3, "interaction": 6}[bilinear_type])
        for p, (i, j) in enumerate(itertools.combinations(range(4), 2)):
            kernel = w[{"all": 0, "each": i, "interaction": p}[bilinear_type]]
            self.assertAllClose(out[:, p], (x[:, i] @ kernel) * x[:, j], atol=1e-5)
        self.assertEqual(out.shape, (2, 6, 3))

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "bilinear_type"):
            BilinearInteraction("field_all")
        with self.assertRaisesRegex(ValueError, "at least 2 fields"):
            BilinearInteraction()(tf.zeros([1, 1, 4]))

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, BilinearInteraction("each", name="bilinear"))

    @parameterized.parameters("all", "each", "interaction")
    def test_mixed_bfloat16(self, bilinear_type):
        x = np.random.default_rng(1).normal(size=(2, 4, 3)).astype(np.float32)
        contract.run_mixed_bfloat16(self, lambda: BilinearInteraction(bilinear_type),
                                    tf.constant(x))


if __name__ == "__main__":
    tf.test.main()
