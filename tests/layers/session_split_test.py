import numpy as np
import tensorflow as tf

from layers.session_split import SessionSplit
from tests.layers import contract

# Oldest first: positions 0-1 in session 3, 2 in session 2, 3-5 in session 1 (the latest).
IDS = np.array([[3, 3, 2, 1, 1, 1, 0, 0]])
MASK = IDS > 0
VALUES = np.arange(1, 9, dtype=np.float32)[None, :]


class SessionSplitTest(tf.test.TestCase):

    def test_golden_value(self):
        sessions, mask = SessionSplit(max_sessions=2, session_len=2)(VALUES, IDS, MASK)
        # Session 1 keeps its last two events (values 5, 6); session 2 has one (value 3).
        self.assertAllEqual(sessions, [[[5, 6], [3, 0]]])
        self.assertAllEqual(mask, [[[True, True], [True, False]]])
        sessions, mask = SessionSplit(max_sessions=4, session_len=3)(VALUES, IDS, MASK)
        self.assertAllEqual(sessions, [[[4, 5, 6], [3, 0, 0], [1, 2, 0], [0, 0, 0]]])
        self.assertAllEqual(mask.numpy().sum(axis=-1), [[3, 1, 2, 0]])

    def test_embeddings_padding_and_empty_rows(self):
        rng = np.random.default_rng(0)
        values = rng.normal(size=(2, 8, 3)).astype(np.float32)
        ids = np.concatenate([IDS, np.zeros_like(IDS)])
        mask = ids > 0
        layer = SessionSplit(3, 2)
        sessions, out_mask = layer(values, ids, mask)
        self.assertEqual(sessions.shape, (2, 3, 2, 3))
        self.assertAllClose(sessions[0, 0], values[0, 4:6])
        noisy_ids = np.where(mask, ids, rng.integers(1, 4, ids.shape))
        noisy, noisy_mask = layer(contract.fill_padding(values, mask), noisy_ids, mask)
        self.assertAllClose(sessions, noisy)
        self.assertAllEqual(out_mask, noisy_mask)
        self.assertAllEqual(sessions[1], np.zeros((3, 2, 3)))
        self.assertFalse(np.any(out_mask[1]))

    def test_rejects_zero_sizes(self):
        with self.assertRaisesRegex(ValueError, "max_sessions"):
            SessionSplit(0, 3)

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, SessionSplit(5, 10))

    def test_mixed_bfloat16(self):
        contract.run_mixed_bfloat16(
            self, lambda: SessionSplit(2, 2), tf.ones([1, 8, 2]),
            call=lambda layer, x: layer(tf.cast(x, tf.bfloat16), IDS, MASK)[0])


if __name__ == "__main__":
    tf.test.main()
