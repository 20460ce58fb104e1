"""Embedding quality: do an item's nearest neighbours share its category?

    knn_category_agreement(embeddings, categories, k=10, items=None)

For each evaluated item, the share of its k nearest other items (cosine similarity, among the
evaluated items) whose category equals its own, averaged over items; beside it the rate for
random items, sum_c n_c (n_c - 1) / (N (N - 1)) over the evaluated items' categories: the
expected agreement of a neighbour drawn uniformly from the other items. `lift` is their ratio.
Plain numpy; the similarity matrix is computed in row blocks, so it scales to large corpora.
"""
import numpy as np


def knn_category_agreement(embeddings, categories, k=10, items=None, block=2048):
    """embeddings [V, d], categories [V] ints (per item id); items: the ids to evaluate
    (default every id with a category > 0, i.e. not padding). Returns a dict of floats:
    knn_agreement, random_agreement, lift, and the ints k and items."""
    embeddings = np.asarray(embeddings, np.float64)
    categories = np.asarray(categories)
    if embeddings.ndim != 2 or len(embeddings) != len(categories):
        raise ValueError(f"need embeddings [V, d] and categories [V], got "
                         f"{embeddings.shape} and {categories.shape}")
    items = np.flatnonzero(categories > 0) if items is None else np.asarray(items, np.int64)
    n = len(items)
    if not 1 <= k < n:
        raise ValueError(f"k must lie in [1, {n}) for {n} items, got {k}")
    vectors = embeddings[items]
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    cats = categories[items]
    agree = np.empty(n)
    for start in range(0, n, block):
        sims = vectors[start:start + block] @ vectors.T
        rows = np.arange(len(sims))
        sims[rows, start + rows] = -np.inf  # an item is not its own neighbour
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        agree[start:start + block] = (cats[nearest] == cats[start:start + block, None]).mean(1)
    _, sizes = np.unique(cats, return_counts=True)
    random = float((sizes * (sizes - 1)).sum() / (n * (n - 1)))
    knn = float(agree.mean())
    return {"knn_agreement": knn, "random_agreement": random,
            "lift": knn / random if random > 0 else float("inf"), "k": int(k), "items": int(n)}
