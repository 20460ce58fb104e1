"""Alias sampling, transition graphs, DeepWalk/node2vec walks and skip-gram pairs."""
import numpy as np
import pytest

from garden import walks


def test_transition_graph_counts_edges_and_drops_padding():
    g = walks.transition_graph([1, 1, 2, 1, 0, 3], [2, 2, 3, 3, 1, 0], num_nodes=4)
    assert g.offsets.tolist() == [0, 0, 2, 3, 3]
    assert g.targets.tolist() == [2, 3, 3]
    assert g.weights.tolist() == [2.0, 1.0, 1.0]
    with pytest.raises(ValueError, match=r"targets: ids must lie in \[0, 4\)"):
        walks.transition_graph([1], [4], num_nodes=4)


def test_alias_tables_reproduce_every_distribution_exactly():
    rng = np.random.default_rng(0)
    sizes = [1, 2, 5, 17, 3, 40]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    weights = rng.exponential(size=offsets[-1]) ** 3  # very uneven
    weights[offsets[2]] = 0.0  # a zero-weight entry is never drawn
    prob, alias = walks.alias_tables(weights, offsets)
    for g in range(len(sizes)):
        w = weights[offsets[g]:offsets[g + 1]]
        implied = walks.alias_distribution(prob, alias, offsets, g)
        np.testing.assert_allclose(implied, w / w.sum(), atol=1e-12)
        assert implied[0] == 0.0 or g != 2


def test_alias_draws_follow_the_distribution():
    offsets = np.array([0, 3, 7])
    weights = np.array([1.0, 2.0, 7.0, 5.0, 0.5, 0.5, 4.0])
    prob, alias = walks.alias_tables(weights, offsets)
    rng = np.random.default_rng(1)
    n = 200_000
    for g in (0, 1):
        draws = walks.alias_draw(prob, alias, offsets, np.full(n, g), rng)
        w = weights[offsets[g]:offsets[g + 1]]
        freq = np.bincount(draws, minlength=len(w)) / n
        # 4 standard errors of a binomial share
        np.testing.assert_allclose(freq, w / w.sum(), atol=4 * np.sqrt(0.25 / n))


def test_alias_tables_reject_an_all_zero_group():
    with pytest.raises(ValueError, match="positive sum"):
        walks.alias_tables([1.0, 0.0, 0.0], [0, 1, 3])


def _two_step_shares(graph, p, q, n=60_000):
    """Where a walk 1 -> 2 -> ? goes at its third node."""
    rng = np.random.default_rng(2)
    paths = walks.random_walks(graph, np.ones(n, np.int64), 3, rng, p=p, q=q)
    assert (paths[:, 1] == 2).all()
    return np.bincount(paths[:, 2], minlength=graph.num_nodes) / n


# 1 -> 2 only; from 2: back to 1, to 3 (adjacent to 1 through 3 -> 1), to 4 (two hops from
# 1). Equal weights, so the shares are the node2vec biases 1/p, 1, 1/q normalized.
SQUARE = walks.transition_graph([1, 3, 2, 2, 2], [2, 1, 1, 3, 4], num_nodes=5)


@pytest.mark.parametrize("p,q", [(1.0, 1.0), (0.25, 1.0), (1.0, 0.25), (4.0, 4.0)])
def test_node2vec_bias_on_a_tiny_graph(p, q):
    shares = _two_step_shares(SQUARE, p, q)
    bias = np.array([1 / p, 1.0, 1 / q])  # to 1 (return), 3 (adjacent), 4 (outward)
    np.testing.assert_allclose(shares[[1, 3, 4]], bias / bias.sum(), atol=0.012)


def test_deepwalk_follows_edge_weights_and_stops_at_dead_ends():
    # 1 -> 2 (weight 3), 1 -> 3 (weight 1); 2 and 3 have no out-edges.
    g = walks.transition_graph([1, 1, 1, 1], [2, 2, 2, 3], num_nodes=4)
    paths = walks.random_walks(g, np.ones(40_000, np.int64), 4, np.random.default_rng(3))
    assert np.isclose((paths[:, 1] == 2).mean(), 0.75, atol=0.01)
    assert (paths[:, 2:] == 0).all()  # dead end: the rest is padding
    assert (walks.random_walks(g, [3], 4, np.random.default_rng(0)) == [[3, 0, 0, 0]]).all()


def test_walks_only_use_edges_of_the_graph():
    rng = np.random.default_rng(4)
    src, dst = rng.integers(1, 30, 400), rng.integers(1, 30, 400)
    g = walks.transition_graph(src, dst, num_nodes=30)
    edges = set(zip(g.sources.tolist(), g.targets.tolist()))
    for p, q in ((1.0, 1.0), (0.5, 2.0)):
        paths = walks.random_walks(g, np.arange(1, 30), 12, rng, p=p, q=q)
        for a, b in zip(paths[:, :-1].ravel(), paths[:, 1:].ravel()):
            assert b == 0 or (a, b) in edges


def test_skipgram_pairs_window_and_padding():
    centers, contexts = walks.skipgram_pairs([[1, 2, 3, 0]], window=1)
    assert sorted(zip(centers.tolist(), contexts.tolist())) == [(1, 2), (2, 1), (2, 3), (3, 2)]
    centers, contexts = walks.skipgram_pairs([[1, 2, 3]], window=5)
    assert len(centers) == 6
