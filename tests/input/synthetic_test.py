import os

import numpy as np
import tensorflow as tf

from input import synthetic
from input.reader import make_dataset
from input.specs import Schema


class SyntheticWorldTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config = synthetic.WorldConfig.for_size(60_000, seed=7)
        cls.world = synthetic.generate_world(cls.config)
        cls.ranking, cls.ranking_test = synthetic.ranking_examples(cls.world)
        cls.retrieval, cls.retrieval_test = synthetic.retrieval_examples(cls.world)

    def test_deterministic_for_a_seed(self):
        again = synthetic.generate_world(self.config)
        self.assertAllEqual(again.event_item, self.world.event_item)
        columns, _ = synthetic.ranking_examples(again)
        self.assertAllEqual(columns["click"], self.ranking["click"])
        other = synthetic.generate_world(synthetic.WorldConfig.for_size(60_000, seed=8))
        self.assertNotAllEqual(other.event_item[:1000], self.world.event_item[:1000])

    def test_clicks_follow_true_ctr(self):
        ctr, click = self.ranking["true_ctr"], self.ranking["click"]
        edges = np.quantile(ctr, np.linspace(0, 1, 11))
        bins = np.clip(np.searchsorted(edges, ctr, side="right") - 1, 0, 9)
        for b in range(10):
            in_bin = bins == b
            # ~6,000 examples a bin: the binomial standard error is below 0.007.
            self.assertAllClose(click[in_bin].mean(), ctr[in_bin].mean(), atol=0.025)
        self.assertGreater(ctr.max() - ctr.min(), 0.5)

    def test_true_ctr_is_the_known_model_with_crosses_and_recent_behaviour(self):
        w, c = self.world, self.ranking
        hist, length = c["hist_item_id"]
        terms = synthetic.click_terms(w, c["user_id"], c["item_id"], hist, length)
        logit = sum(terms.values())
        self.assertAllClose(c["true_ctr"], 1 / (1 + np.exp(-logit)), atol=1e-6)
        for name in ("age_x_price", "gender_x_category", "city_x_shop", "recent_category"):
            self.assertGreater(terms[name].std(), 0.1, name)
        # The recent-behaviour term really depends on the history: without it, it is zero.
        empty = synthetic.click_terms(w, c["user_id"], c["item_id"], hist, np.zeros_like(length))
        self.assertAllEqual(empty["recent_category"], np.zeros(len(length)))

    def test_conversions_only_after_clicks(self):
        conversion, click = self.ranking["conversion"], self.ranking["click"]
        self.assertTrue(np.all(conversion <= click))
        self.assertGreater(conversion.sum(), 0)

    def test_sessions_split_after_30_idle_minutes(self):
        users = np.array([1, 1, 1, 1, 2, 2])
        times = np.array([0, 60, 60 + 1801, 60 + 1801 + 1800, 100, 200])
        self.assertAllEqual(synthetic.session_starts(users, times), [0, 0, 2, 2, 4, 4])

    def test_histories_come_from_the_past_only(self):
        w, c = self.world, self.retrieval
        index = np.arange(len(w.event_user))
        short, short_len = c["short_item_id"]
        long, long_len = c["long_item_id"]
        session = synthetic.session_starts(w.event_user, w.event_time)
        # The short sequence is exactly the session's earlier events, the long one ends right
        # before the session: nothing at or after the target's time.
        has_short = short_len > 0
        last_short = short[has_short, short_len[has_short] - 1]
        self.assertAllEqual(last_short, w.event_item[index[has_short] - 1])
        self.assertAllEqual(short_len, np.minimum(index - session, self.config.short_len))
        has_long = long_len > 0
        self.assertAllEqual(long[has_long, long_len[has_long] - 1],
                            w.event_item[session[has_long] - 1])
        self.assertTrue(np.all(w.event_user[session[has_long] - 1] == w.event_user[has_long]))
        # Items of a short sequence are within 30 minutes of each other (same session).
        gaps = w.event_time[index[has_short]] - w.event_time[index[has_short] - 1]
        self.assertTrue(np.all(gaps <= synthetic.SESSION_GAP_SECONDS))

    def test_history_session_ids_follow_the_30_minute_split(self):
        w, c = self.world, self.ranking
        hist, length = c["hist_item_id"]
        session, session_len = c["hist_session_id"]
        self.assertAllEqual(session_len, length)
        valid = np.arange(hist.shape[1])[None, :] < length[:, None]
        self.assertAllEqual(session[~valid], np.zeros((~valid).sum()))
        has = length > 0
        # The most recent event is in session 1; ids never grow toward the present and step
        # by at most one, so 1..max all occur.
        self.assertAllEqual(session[has, length[has] - 1], np.ones(has.sum()))
        steps = session[:, :-1] - session[:, 1:]
        self.assertTrue(np.all(steps[valid[:, 1:]] >= 0) and np.all(steps[valid[:, 1:]] <= 1))
        # Checked against event times: a new id exactly where 30 idle minutes pass.
        rows = np.flatnonzero(length >= 2)[:500]
        for r in rows:
            n = length[r]
            events = np.flatnonzero(w.event_user == c["user_id"][r])
            times = w.event_time[events]
            items = w.event_item[events]
            end = next(i for i in range(len(items) - n + 1)
                       if np.array_equal(items[i:i + n], hist[r, :n]))
            gaps = np.diff(times[end:end + n]) > synthetic.SESSION_GAP_SECONDS
            self.assertAllEqual(session[r, :n - 1] - session[r, 1:n], gaps.astype(int))

    def test_retrieval_test_split_is_each_users_last_event(self):
        users = self.world.event_user[self.retrieval_test]
        self.assertLen(np.unique(users), self.config.num_users)
        self.assertLen(users, self.config.num_users)

    def test_popular_items_dominate_and_intent_drives_browsing(self):
        counts = np.bincount(self.world.event_item, minlength=self.config.num_items + 1)
        self.assertGreater(counts[1:51].sum(), 5 * counts[-50:].sum())
        matches = self.world.item_cat[self.world.event_item] == self.world.event_intent
        self.assertGreater(matches.mean(), 0.9)

    def test_write_world(self):
        out = self.get_temp_dir()
        synthetic.write_world(out, synthetic.WorldConfig.for_size(2000, seed=3), num_shards=2)
        for family in ("ranking", "retrieval"):
            folder = os.path.join(out, family)
            schema = Schema.load(folder)
            features, labels = next(iter(make_dataset(
                schema, os.path.join(folder, "train-*"), 16, training=False)))
            self.assertEqual(features["user_id"].shape, (16,))
            self.assertTrue(os.path.exists(os.path.join(folder, "items.csv")))
            expected = ["click", "conversion", "true_ctr", "true_cvr"] if family == "ranking" \
                else []
            self.assertCountEqual(labels, expected)


if __name__ == "__main__":
    tf.test.main()
