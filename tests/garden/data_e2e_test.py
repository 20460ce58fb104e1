"""End to end: convert a MovieLens-1M fixture, train a ranking and a retrieval model on it."""
import os

import pytest

from garden import config, train
from input import converters
from tests.input import raw_fixtures as fx


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    root = tmp_path_factory.mktemp("ml")
    fx.write_ml1m(str(root / "raw"), fx.make_log(num_users=200, num_items=120,
                                                 events=(10, 30), seed=5, affinity=0.9))
    out = str(root / "out")
    converters.convert("movielens-1m", str(root / "raw"), out, log=lambda *a: None)
    return out


def _train(experiment, data_dir, model_dir, overrides):
    cfg = config.resolve(experiment=experiment, params_override=overrides,
                         overrides={"data.data_dir": data_dir})
    return train.train(cfg, model_dir, log=lambda *a: None)


def test_deepfm_learns_on_converted_movielens(converted, tmp_path):
    result = _train("deepfm_movielens_1m", converted, str(tmp_path / "deepfm"),
                    "train.batch_size=128,train.epochs=3,model.hidden_units=[32],"
                    "train.steps_per_execution=5")
    assert result["data_dir"] == os.path.join(converted, "ranking")
    ev = result["eval"]
    # Ratings follow item quality in the fixture: the model must find it, as the
    # popularity (item click rate) score does.
    assert ev["auc"] > 0.6 and ev["popularity_auc"] > 0.6, ev
    assert result["export"]["max_abs_diff"] <= 1e-5


def test_sdm_trains_on_converted_movielens(converted, tmp_path):
    result = _train("sdm_movielens_1m", converted, str(tmp_path / "sdm"),
                    "train.batch_size=128,train.epochs=2,model.embedding_dim=16,"
                    "model.num_sampled=40,model.top_k=20,eval.top_k=[10,50],"
                    "train.steps_per_execution=5")
    assert result["data_dir"] == os.path.join(converted, "retrieval")
    ev = result["eval"]
    assert ev["examples"] == 200  # leave-last-out: one test example per user
    # Sessions in the fixture stay in one category: the session tower must find it (the bar
    # of tests/models/models_test.py).
    assert ev["mrr"] >= 1.2 * ev["popularity_mrr"], ev
    assert result["export"]["max_abs_diff"] <= 1e-5
