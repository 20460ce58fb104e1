import numpy as np
import tensorflow as tf

from garden import optimizers
from garden.tasks.base import GardenModel
from layers.feature_embedding import FeatureEmbedding
from layers.sampled_softmax import SampledSoftmax


class FusedAdamTest(tf.test.TestCase):

    def test_same_updates_as_keras_adam_dense_and_sparse(self):
        rng = np.random.default_rng(0)
        start_table = rng.normal(size=(50, 4)).astype(np.float32)
        start_kernel = rng.normal(size=(4, 1)).astype(np.float32)
        batches = [np.arange(16) % 3] + [rng.integers(0, 50, 16) for _ in range(4)]
        results = []
        for cls in (tf.keras.optimizers.Adam, optimizers.FusedAdam):
            table, kernel = tf.Variable(start_table), tf.Variable(start_kernel)
            opt = cls(learning_rate=0.01)
            for ids in batches:
                with tf.GradientTape() as tape:
                    rows = tf.gather(table, ids)  # a sparse (IndexedSlices) gradient
                    loss = tf.reduce_sum(tf.square(rows @ kernel - 1.0))
                grads = tape.gradient(loss, [table, kernel])
                self.assertIsInstance(grads[0], tf.IndexedSlices)
                opt.apply_gradients(zip(grads, [table, kernel]))
            results.append((table.numpy(), kernel.numpy()))
        self.assertAllClose(results[0][0], results[1][0], atol=1e-6)
        self.assertAllClose(results[0][1], results[1][1], atol=1e-6)
        self.assertNotAllClose(results[0][0], start_table)

    def test_names(self):
        self.assertIsInstance(optimizers.make("adam", 0.1), optimizers.FusedAdam)
        with self.assertRaisesRegex(ValueError, "train.optimizer"):
            optimizers.make("adamw", 0.1)
        with self.assertRaisesRegex(ValueError, "amsgrad"):
            optimizers.FusedAdam(amsgrad=True)


class _TwoTables(GardenModel):
    def __init__(self):
        super().__init__(["item_id"])
        self.embedding = FeatureEmbedding({"item": [10, 4]}, {"item_id": "item"})
        self.head = SampledSoftmax(num_items=10, dim=4, num_sampled=2)


class CompileTest(tf.test.TestCase):

    def test_tables_are_read_densely_exactly_when_the_optimizer_updates_them_densely(self):
        model = _TwoTables()
        for name, dense in (("adam", True), ("adagrad", False), ("sgd", False), ("adam", True)):
            model.compile(optimizers.make(name, 0.1))
            self.assertEqual(model.embedding.dense_table_reads, dense, name)
            self.assertEqual(model.head.dense_table_reads, dense, name)


if __name__ == "__main__":
    tf.test.main()
