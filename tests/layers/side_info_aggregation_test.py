import numpy as np
import tensorflow as tf

from layers.side_info_aggregation import SideInfoAggregation
from tests.layers import contract

# Two items, three fields (id, category, brand), dim 2.
EMBEDDINGS = np.array([[[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]],
                       [[4.0, 4.0], [0.0, 2.0], [2.0, 0.0]]], np.float32)


def _layer():
    layer = SideInfoAggregation(num_items=3, num_fields=3)
    layer.build()
    # item 1: plain mean; item 2: weights (1, 1, 2) / 4 from logits (0, 0, log 2).
    layer.field_logits.assign([[0, 0, 0], [0, 0, 0], [0, 0, np.log(2.0)]])
    return layer


class SideInfoAggregationTest(tf.test.TestCase):

    def test_golden_weighted_average(self):
        out = _layer()(EMBEDDINGS, tf.constant([1, 2]))
        self.assertAllClose(out, [[1.0, 1.0], [(4 + 0 + 4) / 4, (4 + 2 + 0) / 4]])

    def test_cold_items_get_the_mean_of_their_side_information(self):
        out = _layer()(EMBEDDINGS, tf.constant([1, 2]), cold=tf.constant([False, True]))
        self.assertAllClose(out, [[1.0, 1.0], [1.0, 1.0]])  # item 2: mean of (0,2), (2,0)

    def test_sequences_and_padded_positions_stay_local(self):
        layer = _layer()
        seq = np.stack([EMBEDDINGS, EMBEDDINGS[::-1]])  # [2, 2, 3, 2]
        ids = tf.constant([[1, 2], [2, 0]])
        out = layer(seq, ids).numpy()
        self.assertEqual(out.shape, (2, 2, 2))
        noisy = seq.copy()
        noisy[1, 1] = 99.0  # a padded position
        self.assertAllClose(layer(noisy, ids)[:, :1], out[:, :1])
        self.assertAllClose(layer(noisy, ids)[0], out[0])

    def test_rejects_a_single_field(self):
        with self.assertRaisesRegex(ValueError, "num_fields >= 2"):
            SideInfoAggregation(3, 1)

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, SideInfoAggregation(7, 4))

    def test_mixed_bfloat16(self):
        contract.run_mixed_bfloat16(
            self, lambda: SideInfoAggregation(3, 3), tf.constant(EMBEDDINGS),
            call=lambda layer, x: layer(x, tf.constant([1, 2]), tf.constant([True, False])))


if __name__ == "__main__":
    tf.test.main()
