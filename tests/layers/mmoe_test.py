import numpy as np
import tensorflow as tf

from layers.mmoe import MMoE
from tests.layers import contract


def set_experts(layer, kernels, biases):
    for expert, kernel, bias in zip(layer.experts, kernels, biases):
        expert.dense_layers[0].kernel.assign(kernel)
        expert.dense_layers[0].bias.assign(bias)


class MMoETest(tf.test.TestCase):

    def test_golden_value(self):
        layer = MMoE(num_tasks=2, num_experts=2, expert_units=[1])
        x = tf.constant([[1.0, 2.0]])
        layer(x)
        # relu(x . [1, 0] + 0) = 1 and relu(x . [0, 1] + 1) = 3.
        set_experts(layer, [[[1.0], [0.0]], [[0.0], [1.0]]], [[0.0], [1.0]])
        layer.gates[0].kernel.assign(tf.zeros([2, 2]))  # gate 0.5 / 0.5
        layer.gates[1].kernel.assign([[np.log(3.0), 0.0], [0.0, 0.0]])  # logits ln 3, 0
        task0, task1 = layer(x)
        self.assertAllClose(task0, [[0.5 * 1 + 0.5 * 3]])
        self.assertAllClose(task1, [[0.75 * 1 + 0.25 * 3]])

    def test_shapes_and_gates_sum_to_one(self):
        layer = MMoE(num_tasks=3, num_experts=4, expert_units=[8, 5], dropout=0.2)
        x = tf.random.normal([6, 7])
        outputs = layer(x, training=True)
        self.assertLen(outputs, 3)
        for out in outputs:
            self.assertEqual(out.shape, (6, 5))
        # With every expert equal, any convex mix of them is that expert.
        for expert in layer.experts[1:]:
            for source, target in zip(layer.experts[0].weights, expert.weights):
                target.assign(source)
        for out in layer(x):
            self.assertAllClose(out, layer.experts[0](x), atol=1e-5)

    def test_rejects_no_experts(self):
        with self.assertRaisesRegex(ValueError, "num_experts"):
            MMoE(num_tasks=2, num_experts=0, expert_units=[4])

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, MMoE(2, 3, [4, 2], activation="tanh",
                                                     dropout=0.1, name="mmoe"))

    def test_mixed_bfloat16(self):
        contract.run_mixed_bfloat16(self, lambda: MMoE(2, 3, [4]), tf.random.normal([3, 5]))


if __name__ == "__main__":
    tf.test.main()
