"""Behaviour-sequence models beat DeepFM without the sequence (pytest -m slow; ~15 minutes).

The synthetic click model depends on the recent behaviour (the share of the last 5 events in
the candidate's category, the candidate's brand among the last 10), which a model without the
history cannot see. On the default world size (300,000 ranking examples) and for several
world seeds, every sequence model with its default experiment must reach a higher test AUC
than `deepfm` (use_sequences: false) with its default experiment on the same features.
"""
import pytest

from garden import config, data, train

SEEDS = (0, 1)
SEQUENCE_MODELS = ("din", "dien", "dsin", "bst")
NUM_EXAMPLES = 300_000


def _auc(name, data_dir, model_dir, **overrides):
    cfg = config.resolve(name, overrides={"data.data_dir": data_dir, **overrides})
    result = train.train(cfg, str(model_dir), log=lambda *a: None)
    assert result["export"]["max_abs_diff"] <= 1e-5, result["export"]
    return result["eval"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_sequence_models_beat_deepfm_without_the_sequence(seed, tmp_path):
    data_dir = data.synthetic_dir(NUM_EXAMPLES, seed, log=lambda *a: None)
    baseline = _auc("deepfm", data_dir, tmp_path / "deepfm", **{"model.use_sequences": False})
    results = {name: _auc(name, data_dir, tmp_path / name) for name in SEQUENCE_MODELS}
    summary = {name: round(v["auc"], 4) for name, v in results.items()}
    print(f"seed {seed}: deepfm auc {baseline['auc']:.4f}, sequence models {summary}")
    for name, values in results.items():
        assert values["auc"] > baseline["auc"], (name, summary, baseline["auc"])
