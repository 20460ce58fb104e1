"""Behaviour-sequence models beat DeepFM without the sequence (pytest -m slow; ~45 minutes).

The synthetic click model depends on the recent behaviour (the share of the last 5 events in
the candidate's category, the candidate's brand among the last 10), which a model without the
history cannot see. On the default world size (300,000 ranking examples) and for several
world seeds, every sequence model with its default experiment must reach a higher test AUC
than `deepfm` (use_sequences: false) with its default experiment on the same features.
"""
import pytest

from garden import config, data, train

SEEDS = (0, 1, 2)
SEQUENCE_MODELS = ("din", "dien", "dsin", "bst")
NUM_EXAMPLES = 300_000


def _eval(name, data_dir, model_dir, **overrides):
    cfg = config.resolve(name, overrides={"data.data_dir": data_dir, **overrides})
    result = train.train(cfg, str(model_dir), log=lambda *a: None)
    assert result["export"]["max_abs_diff"] <= 1e-5, result["export"]
    return result["eval"]


@pytest.fixture(scope="module")
def deepfm_auc(tmp_path_factory):
    """The baseline's test AUC per world seed, trained once per seed."""
    aucs = {}

    def get(seed):
        if seed not in aucs:
            data_dir = data.synthetic_dir(NUM_EXAMPLES, seed, log=lambda *a: None)
            model_dir = tmp_path_factory.mktemp(f"deepfm-{seed}")
            aucs[seed] = _eval("deepfm", data_dir, model_dir,
                               **{"model.use_sequences": False})["auc"]
        return aucs[seed]
    return get


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", SEQUENCE_MODELS)
def test_sequence_model_beats_deepfm_without_the_sequence(name, seed, deepfm_auc, tmp_path):
    baseline = deepfm_auc(seed)
    data_dir = data.synthetic_dir(NUM_EXAMPLES, seed, log=lambda *a: None)
    values = _eval(name, data_dir, tmp_path / name)
    print(f"seed {seed}: {name} auc {values['auc']:.4f} logloss {values['logloss']:.4f} "
          f"gauc {values['gauc']:.4f}; deepfm without the sequence auc {baseline:.4f}")
    assert values["auc"] > baseline, (name, seed, values, baseline)
