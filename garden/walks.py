"""Item transition graphs, alias sampling and random walks (DeepWalk, node2vec), in numpy.

Everything is vectorized over all distributions or all walkers at once; the only Python loops
run over the steps of a walk and over the rounds of the alias construction (at most the size
of the largest distribution, each round touching only the distributions still unfinished).

Graphs are CSR: node v's out-edges are positions offsets[v]:offsets[v + 1] of `targets` and
`weights`. Node 0 is padding (item id 0): it has no edges, and a walk that reaches a node
without out-edges stops there, the rest of its row padded with 0.
"""
import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Graph:
    offsets: np.ndarray  # [N + 1] int64
    targets: np.ndarray  # [E] int64, sorted within each node's row
    weights: np.ndarray  # [E] float64, > 0

    @property
    def num_nodes(self):
        return len(self.offsets) - 1

    @property
    def sources(self):
        return np.repeat(np.arange(self.num_nodes), np.diff(self.offsets))

    def out_degree(self):
        return np.diff(self.offsets)


def transition_graph(sources, targets, num_nodes):
    """The directed graph whose edge u -> v weighs the number of times v followed u.

    Pairs with a 0 (padding) end are ignored. Ids must lie in [0, num_nodes).
    """
    sources, targets = np.asarray(sources, np.int64), np.asarray(targets, np.int64)
    if sources.shape != targets.shape:
        raise ValueError(f"sources and targets differ in shape: {sources.shape} vs "
                         f"{targets.shape}")
    for name, ids in (("sources", sources), ("targets", targets)):
        if ids.size and (ids.min() < 0 or ids.max() >= num_nodes):
            raise ValueError(f"{name}: ids must lie in [0, {num_nodes}), got "
                             f"[{ids.min()}, {ids.max()}]")
    keep = (sources > 0) & (targets > 0)
    keys, counts = np.unique(sources[keep] * num_nodes + targets[keep], return_counts=True)
    src, dst = keys // num_nodes, keys % num_nodes
    offsets = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=num_nodes))])
    return Graph(offsets.astype(np.int64), dst, counts.astype(np.float64))


def alias_tables(weights, offsets):
    """Walker/Vose alias tables for many discrete distributions stored back to back.

    weights [E] (>= 0, each group's sum > 0), offsets [G + 1]: group g is
    weights[offsets[g]:offsets[g + 1]]. Returns (prob [E] float64, alias [E] int64): to draw
    from group g of size n, pick k uniformly in [0, n), keep k with probability
    prob[offsets[g] + k], else take alias[offsets[g] + k] (an index local to the group).

    The classic construction pairs one under-full entry (scaled weight < 1) with one
    over-full entry per step; here every group does its next step in the same numpy round.
    """
    weights = np.asarray(weights, np.float64)
    offsets = np.asarray(offsets, np.int64)
    sizes = np.diff(offsets)
    num_groups = len(sizes)
    group = np.repeat(np.arange(num_groups), sizes)
    totals = np.bincount(group, weights=weights, minlength=num_groups)
    if np.any(weights < 0) or np.any((sizes > 0) & ~(totals > 0)):
        raise ValueError("alias_tables needs non-negative weights with a positive sum per group")
    scaled = weights * sizes[group] / np.where(totals > 0, totals, 1)[group]
    prob = np.ones(len(weights))
    alias = np.arange(len(weights)) - offsets[group]
    large = scaled >= 1.0
    order = np.lexsort((large, group))  # per group: under-full entries first, then over-full
    small_next = offsets[:-1].copy()
    small_end = offsets[:-1] + np.bincount(group, weights=~large, minlength=num_groups
                                           ).astype(np.int64)
    large_next, large_end = small_end.copy(), offsets[1:]
    pending = np.full(num_groups, -1)  # an over-full entry that became under-full
    active = np.flatnonzero((small_next < small_end) & (large_next < large_end))
    while active.size:
        g = active
        from_pending = pending[g] >= 0
        s = np.where(from_pending, pending[g], order[np.minimum(small_next[g], len(order) - 1)])
        small_next[g] += ~from_pending
        big = order[large_next[g]]
        prob[s] = scaled[s]
        alias[s] = big - offsets[g]
        scaled[big] -= 1.0 - scaled[s]
        turned = scaled[big] < 1.0
        pending[g] = np.where(turned, big, -1)
        large_next[g] += turned
        more = ((pending[g] >= 0) | (small_next[g] < small_end[g])) & \
            (large_next[g] < large_end[g])
        active = g[more]
    # Entries never paired keep probability 1: their scaled weight is 1 up to rounding.
    return prob, alias


def alias_draw(prob, alias, offsets, groups, rng):
    """One draw from each of the given groups (local indices [len(groups)]); groups must be
    non-empty."""
    groups = np.asarray(groups, np.int64)
    start = offsets[groups]
    k = np.minimum((rng.random(len(groups)) * (offsets[groups + 1] - start)).astype(np.int64),
                   offsets[groups + 1] - start - 1)
    pos = start + k
    return np.where(rng.random(len(groups)) < prob[pos], k, alias[pos])


def alias_distribution(prob, alias, offsets, group):
    """The exact distribution that alias_draw samples for one group (for tests and checks)."""
    start, end = offsets[group], offsets[group + 1]
    n = end - start
    out = prob[start:end].copy()
    np.add.at(out, alias[start:end], 1.0 - prob[start:end])
    return out / n


def random_walks(graph, starts, length, rng, p=1.0, q=1.0):
    """Walks of `length` nodes from each start: [len(starts), length] int64, 0 after a stop.

    p = q = 1: DeepWalk's first-order walk, the next node drawn by edge weight (Perozzi et
    al., KDD 2014, on a weighted graph). Otherwise node2vec's second-order walk (Grover and
    Leskovec, KDD 2016): after stepping t -> v, the next node x is drawn by weight(v, x)
    times 1/p if x == t (return), 1 if x is adjacent to t (either direction, as the graph is
    directed), 1/q otherwise (moving outward). Both draw from precomputed alias tables.
    """
    if length < 1:
        raise ValueError(f"walk length must be >= 1, got {length}")
    if not (p > 0 and q > 0):
        raise ValueError(f"node2vec p and q must be > 0, got p={p}, q={q}")
    starts = np.asarray(starts, np.int64)
    walks = np.zeros((len(starts), length), np.int64)
    walks[:, 0] = starts
    if length == 1:
        return walks
    degree = graph.out_degree()
    node_prob, node_alias = alias_tables(graph.weights, graph.offsets)
    second_order = not (p == 1.0 and q == 1.0)
    if second_order:
        edge_offsets, edge_prob, edge_alias = _second_order_tables(graph, p, q)
    alive = np.flatnonzero(degree[starts] > 0)
    k = alias_draw(node_prob, node_alias, graph.offsets, starts[alive], rng)
    edge = graph.offsets[starts[alive]] + k  # the edge each live walker just took
    for step in range(1, length):
        walks[alive, step] = graph.targets[edge]
        if step == length - 1:
            break
        node = graph.targets[edge]
        keep = degree[node] > 0
        alive, edge, node = alive[keep], edge[keep], node[keep]
        if second_order:
            k = alias_draw(edge_prob, edge_alias, edge_offsets, edge, rng)
        else:
            k = alias_draw(node_prob, node_alias, graph.offsets, node, rng)
        edge = graph.offsets[node] + k
    return walks


def _second_order_tables(graph, p, q):
    """node2vec's alias tables, one per edge t -> v over v's out-edges (offsets, prob, alias).

    Memory: one entry per (edge into v, edge out of v) pair, sum over v of in x out degree.
    """
    n = graph.num_nodes
    src, dst = graph.sources, graph.targets
    sizes = graph.out_degree()[dst]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    edge = np.repeat(np.arange(len(dst)), sizes)
    out_edge = graph.offsets[dst[edge]] + (np.arange(offsets[-1]) - offsets[edge])
    t, x = src[edge], graph.targets[out_edge]
    adjacent = np.unique(np.concatenate([src * n + dst, dst * n + src]))
    key = t * n + x
    found = adjacent[np.minimum(np.searchsorted(adjacent, key), len(adjacent) - 1)] == key
    bias = np.where(x == t, 1.0 / p, np.where(found, 1.0, 1.0 / q))
    prob, alias = alias_tables(graph.weights[out_edge] * bias, offsets)
    return offsets, prob, alias


def skipgram_pairs(walks, window):
    """(center, context) pairs of every two nodes at most `window` apart in a walk, both
    directions, padding (0) left out: two int64 arrays."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    walks = np.asarray(walks, np.int64)
    centers, contexts = [], []
    for offset in range(1, min(window, walks.shape[1] - 1) + 1):
        a, b = walks[:, :-offset].ravel(), walks[:, offset:].ravel()
        valid = (a > 0) & (b > 0)
        centers += [a[valid], b[valid]]
        contexts += [b[valid], a[valid]]
    if not centers:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(centers), np.concatenate(contexts)
