import numpy as np
import pytest

from garden.embedding_quality import knn_category_agreement


def test_clustered_embeddings_agree_and_random_ones_do_not():
    rng = np.random.default_rng(0)
    cats = np.concatenate([[0], rng.integers(1, 5, 400)])
    centers = rng.normal(size=(5, 8))
    clustered = centers[cats] + 0.1 * rng.normal(size=(401, 8))
    out = knn_category_agreement(clustered, cats, k=5)
    assert out["knn_agreement"] > 0.99 and out["items"] == 400
    sizes = np.bincount(cats[1:])[1:]
    assert np.isclose(out["random_agreement"], (sizes * (sizes - 1)).sum() / (400 * 399))
    noise = knn_category_agreement(rng.normal(size=(401, 8)), cats, k=5, block=64)
    assert abs(noise["knn_agreement"] - noise["random_agreement"]) < 0.05


def test_golden_value_on_a_line():
    # Items 1..4 on a line at 0, 1, 10, 11 degrees; categories a, b, a, b. By cosine the
    # neighbour of 1 is 2 (b), of 2 is 1 (a), of 3 is 4 (b), of 4 is 3 (a): agreement 0.
    angles = np.radians([0, 0, 1, 10, 11])
    emb = np.stack([np.cos(angles), np.sin(angles)], 1)
    out = knn_category_agreement(emb, [0, 1, 2, 1, 2], k=1)
    assert out["knn_agreement"] == 0.0
    assert np.isclose(out["random_agreement"], 4 / 12)  # 2 categories of 2: 2*2*1 / (4*3)
    out = knn_category_agreement(emb, [0, 1, 1, 2, 2], k=1)
    assert out["knn_agreement"] == 1.0


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"k must lie in \[1, 3\)"):
        knn_category_agreement(np.eye(4), [0, 1, 1, 2], k=3)
    with pytest.raises(ValueError, match="categories"):
        knn_category_agreement(np.eye(4), [0, 1], k=1)
