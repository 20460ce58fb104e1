"""tools/benchmark.py: the garden's side is configured as DeepCTR's model, and several quality
runs are summarized as mean +- sd."""
import pytest

from tools import benchmark


@pytest.mark.parametrize("name,expected", [
    ("deepfm", {}),
    ("dcn", {"cross_layers": 2, "use_linear": True}),
    ("autoint", {"head_dim": 8, "use_linear": True}),
])
def test_garden_model_is_set_like_deepctrs(name, expected):
    cfg, _ = benchmark.garden_model(name, benchmark.criteo_schema())
    # DeepCTR's N(0, 1e-4) embeddings: the uniform bound with the same standard deviation.
    assert cfg.model.embedding_init_scale / 3 ** 0.5 == pytest.approx(1e-4)
    assert cfg.model.l2_embedding == 0.0
    assert cfg.model.hidden_units == benchmark.HIDDEN
    for key, value in expected.items():
        assert getattr(cfg.model, key) == value, key


def test_quality_summary():
    assert benchmark.quality_summary([0.76543]) == "0.7654"
    assert benchmark.quality_summary([0.76, 0.78, 0.77]) == (
        "0.7700 +- 0.0100 (sd of 3 runs: 0.7600 0.7800 0.7700)")
