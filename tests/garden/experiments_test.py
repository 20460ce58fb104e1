"""Every bundled experiment file loads, names a registered model, and says what data it is for."""
import importlib.resources

import pytest

from garden import config, data, registry

NAMES = sorted(p.name[:-5] for p in importlib.resources.files("experiments").iterdir()
               if p.name.endswith(".yaml"))


def test_there_are_experiments_for_the_converted_datasets():
    for name in ("deepfm_criteo", "deepfm_avazu", "deepfm_movielens_1m", "deepfm_amazon",
                 "sdm_movielens_1m", "sdm_taobao", "sdm_amazon"):
        assert name in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_experiment_resolves(name):
    cfg = config.resolve(experiment=name)
    assert cfg.model_name in registry.list_models()
    assert name.startswith(cfg.model_name + "_")
    if cfg.data.dataset != "synthetic":
        # The file names its dataset; without --data_dir the error says how to convert it.
        with pytest.raises(FileNotFoundError, match=f"--dataset={cfg.data.dataset} "):
            data.task_data_dir(cfg.data, registry.get_model(cfg.model_name).task)


def test_a_folder_of_another_dataset_is_flagged(tmp_path):
    import dataclasses
    import json
    (tmp_path / "ranking").mkdir()
    (tmp_path / "ranking" / "schema.yaml").write_text("features: []\n")
    (tmp_path / "stats.json").write_text(json.dumps({"dataset": "avazu"}))
    cfg = config.resolve(experiment="deepfm_criteo")
    lines = []
    found = data.task_data_dir(dataclasses.replace(cfg.data, data_dir=str(tmp_path)),
                               "ranking", log=lines.append)
    assert found == str(tmp_path / "ranking")
    assert lines == [f"warning: the experiment is for criteo, {tmp_path} holds avazu"]
