import numpy as np
import tensorflow as tf

from layers.cgc import CGC
from tests.layers import contract


def set_dense(mlp, kernel, bias):
    mlp.dense_layers[0].kernel.assign(kernel)
    mlp.dense_layers[0].bias.assign(bias)


class CGCTest(tf.test.TestCase):

    def make_golden(self):
        layer = CGC(num_tasks=2, num_task_experts=1, num_shared_experts=1, expert_units=[1],
                    output_shared=True)
        inputs = [tf.constant([[1.0, 0.0]]), tf.constant([[0.0, 1.0]]),
                  tf.constant([[1.0, 1.0]])]
        layer(inputs)
        kernel = [[1.0], [2.0]]
        set_dense(layer.task_experts[0][0], kernel, [0.0])  # on x0: 1
        set_dense(layer.task_experts[1][0], kernel, [10.0])  # on x1: 12
        set_dense(layer.shared_experts[0], kernel, [100.0])  # on xs: 103
        layer.task_gates[0].kernel.assign(tf.zeros([2, 2]))  # 0.5 / 0.5
        layer.task_gates[1].kernel.assign([[0.0, 0.0], [np.log(3.0), 0.0]])  # x1: ln 3, 0
        layer.shared_gate.kernel.assign(tf.zeros([2, 3]))  # a third each
        return layer, inputs

    def test_golden_value(self):
        layer, inputs = self.make_golden()
        task0, task1, shared = layer(inputs)
        self.assertAllClose(task0, [[0.5 * 1 + 0.5 * 103]])  # own expert + shared expert
        self.assertAllClose(task1, [[0.75 * 12 + 0.25 * 103]])
        self.assertAllClose(shared, [[(1 + 12 + 103) / 3]])  # every expert

    def test_a_task_never_reads_another_tasks_input(self):
        layer, inputs = self.make_golden()
        for kernel in layer.task_gates[0].weights + layer.task_gates[1].weights:
            kernel.assign(tf.random.normal(kernel.shape))
        before = layer(inputs)
        changed = layer([inputs[0], inputs[1] + 5.0, inputs[2]])
        self.assertAllClose(before[0], changed[0])
        self.assertNotAllClose(before[1], changed[1])

    def test_one_input_feeds_every_task_and_no_shared_output_by_default(self):
        layer = CGC(num_tasks=3, num_task_experts=2, num_shared_experts=1, expert_units=[6, 4])
        outputs = layer(tf.random.normal([5, 7]))
        self.assertLen(outputs, 3)
        for out in outputs:
            self.assertEqual(out.shape, (5, 4))

    def test_rejects_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "output_shared"):
            CGC(2, 1, 0, [4], output_shared=True)
        with self.assertRaisesRegex(ValueError, "at least one expert"):
            CGC(2, 0, 0, [4])
        with self.assertRaisesRegex(ValueError, "takes 3 inputs"):
            CGC(2, 1, 1, [4])([tf.ones([1, 2])] * 2)

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, CGC(2, 2, 1, [4, 2], activation="tanh",
                                                    dropout=0.1, output_shared=True,
                                                    name="cgc"))

    def test_mixed_bfloat16(self):
        contract.run_mixed_bfloat16(self, lambda: CGC(2, 1, 2, [4], output_shared=True),
                                    tf.random.normal([3, 5]))


if __name__ == "__main__":
    tf.test.main()
