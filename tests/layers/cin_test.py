import numpy as np
import tensorflow as tf

from layers.cin import CIN
from tests.layers import contract


def numpy_cin(x0, kernels, split_half, biases=None, activation=lambda v: v):
    """Eq. 6 of the paper, one sum at a time (plus a bias per map and an activation)."""
    hidden, out = x0, []
    for k, w in enumerate(kernels):
        h_prev, m = hidden.shape[1], x0.shape[1]
        w = w.reshape(h_prev, m, -1)
        maps = np.zeros((x0.shape[0], w.shape[2], x0.shape[2]))
        for h in range(w.shape[2]):
            for i in range(h_prev):
                for j in range(m):
                    maps[:, h] += w[i, j, h] * hidden[:, i] * x0[:, j]
        if biases is not None:
            maps += biases[k][None, :, None]
        maps = activation(maps)
        if split_half and k < len(kernels) - 1:
            half = maps.shape[1] // 2
            hidden, direct = maps[:, :half], maps[:, half:]
        else:
            hidden = direct = maps
        out.append(direct.sum(axis=2))
    return np.concatenate(out, axis=1)


class CINTest(tf.test.TestCase):

    def _with_ones(self, layer, x):
        layer(x)
        for kernel in layer.kernels:
            kernel.assign(tf.ones_like(kernel))
        return layer(x)

    def test_golden_value_split_half(self):
        # With all weights 1 and s_d = sum_i x_id, layer 1's two maps are both s_d^2: the
        # first goes on, the second (pooled: sum_d s_d^2) out; layer 2 gives s_d^3.
        x = tf.constant([[[1.0, 2.0], [3.0, -1.0]]])  # s = (4, 1)
        out = self._with_ones(CIN([2, 1], split_half=True), x)
        self.assertAllClose(out, [[16.0 + 1.0, 64.0 + 1.0]])

    def test_golden_value_without_split(self):
        # Both layer-1 maps go out and on, so layer 2 sums two copies: 2 s_d^3.
        x = tf.constant([[[1.0, 2.0], [3.0, -1.0]]])
        out = self._with_ones(CIN([2, 1], split_half=False), x)
        self.assertAllClose(out, [[17.0, 17.0, 130.0]])

    def test_matches_the_papers_equation(self):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(3, 4, 5)).astype(np.float32)
        for split_half in (True, False):
            layer = CIN([4, 2, 3], split_half=split_half)
            out = layer(x)
            self.assertEqual(out.shape, (3, layer.output_dim))
            self.assertEqual(layer.output_dim, 2 + 1 + 3 if split_half else 4 + 2 + 3)
            expected = numpy_cin(x, [k.numpy() for k in layer.kernels], split_half)
            self.assertAllClose(out, expected, rtol=1e-4, atol=1e-4)

    def test_bias_and_activation_match_the_equation(self):
        # Linear maps are pooled before W^k where they only go out; relu needs every map at
        # every d. Both paths must give the equation's values, biases included.
        rng = np.random.default_rng(1)
        x = rng.normal(size=(3, 4, 5)).astype(np.float32)
        relu = lambda v: np.maximum(v, 0.0)  # noqa: E731
        for split_half in (True, False):
            for activation, act in (("linear", lambda v: v), ("relu", relu)):
                layer = CIN([4, 2, 3], split_half=split_half, activation=activation,
                            use_bias=True)
                layer(x)
                for bias in layer.biases:
                    bias.assign(rng.normal(size=bias.shape))
                expected = numpy_cin(x, [k.numpy() for k in layer.kernels], split_half,
                                     [b.numpy() for b in layer.biases], act)
                self.assertAllClose(layer(x), expected, rtol=1e-4, atol=1e-4)

    def test_bias_and_activation(self):
        x = tf.constant([[[1.0, 2.0], [3.0, -1.0]]])
        layer = CIN([1], activation="relu", use_bias=True)
        layer(x)
        layer.kernels[0].assign(-tf.ones_like(layer.kernels[0]))
        layer.biases[0].assign([15.0])
        # maps before relu: 15 - s_d^2 = (-1, 14); relu, then the sum over d.
        self.assertAllClose(layer(x), [[14.0]])

    def test_rejects_odd_sizes_under_split_half(self):
        with self.assertRaisesRegex(ValueError, "even"):
            CIN([3, 2])
        CIN([3, 2], split_half=False)
        with self.assertRaisesRegex(ValueError, "layer_sizes"):
            CIN([])

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, CIN([4, 2], split_half=False,
                                                    activation="relu", use_bias=True, l2=1e-5))

    def test_mixed_bfloat16(self):
        x = np.random.default_rng(1).normal(size=(2, 3, 4)).astype(np.float32)
        contract.run_mixed_bfloat16(self, lambda: CIN([4, 2], use_bias=True), tf.constant(x))


if __name__ == "__main__":
    tf.test.main()
