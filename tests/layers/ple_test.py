import tensorflow as tf

from layers.ple import PLE
from tests.layers import contract


class PLETest(tf.test.TestCase):

    def test_golden_value_two_levels(self):
        layer = PLE(num_tasks=2, num_levels=2, num_task_experts=1, num_shared_experts=1,
                    expert_units=[1])
        x = tf.constant([[1.0, 2.0]])
        layer(x)
        # Every expert sums its input (kernel of ones); biases tell experts apart; every gate
        # is uniform (zero kernels).
        for level in layer.levels:
            experts = [level.task_experts[0][0], level.task_experts[1][0],
                       level.shared_experts[0]]
            for expert, bias in zip(experts, (0.0, 1.0, 2.0)):
                dense = expert.dense_layers[0]
                dense.kernel.assign(tf.ones(dense.kernel.shape))
                dense.bias.assign([bias])
            for gate in level.task_gates + ([level.shared_gate] if level.shared_gate else []):
                gate.kernel.assign(tf.zeros(gate.kernel.shape))
        # Level 1 on x (sum 3): experts 3, 4, 5 -> task 0 (3+5)/2 = 4, task 1 (4+5)/2 = 4.5,
        # shared (3+4+5)/3 = 4. Level 2: task 0's expert reads 4 -> 4, task 1's reads 4.5
        # -> 5.5, the shared expert reads 4 -> 6; task 0 (4+6)/2 = 5, task 1 (5.5+6)/2 = 5.75.
        task0, task1 = layer(x)
        self.assertAllClose(task0, [[5.0]])
        self.assertAllClose(task1, [[5.75]])

    def test_only_the_last_level_drops_the_shared_output(self):
        layer = PLE(num_tasks=2, num_levels=3, num_task_experts=2, num_shared_experts=1,
                    expert_units=[6, 4])
        outputs = layer(tf.random.normal([5, 7]))
        self.assertEqual([level.output_shared for level in layer.levels], [True, True, False])
        self.assertLen(outputs, 2)
        for out in outputs:
            self.assertEqual(out.shape, (5, 4))

    def test_rejects_no_levels(self):
        with self.assertRaisesRegex(ValueError, "num_levels"):
            PLE(2, 0, 1, 1, [4])

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, PLE(2, 2, 1, 1, [4, 2], activation="tanh",
                                                    dropout=0.1, name="ple"))

    def test_mixed_bfloat16(self):
        contract.run_mixed_bfloat16(self, lambda: PLE(2, 2, 1, 1, [4]),
                                    tf.random.normal([3, 5]))


if __name__ == "__main__":
    tf.test.main()
