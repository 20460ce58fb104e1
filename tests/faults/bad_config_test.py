"""Malformed experiment configs and schemas: each is an error that names the key."""
import os

import pytest
import yaml

from garden import config
from garden.config import ConfigError
from input.specs import Schema, SchemaError
from tests.faults.conftest import tally


@pytest.mark.parametrize("model, override, message", [
    ("sdm", "model.num_heads=0", "model.num_heads must be > 0"),
    ("sdm", "model.embedding_dim=30,model.num_heads=4", "divisible by model.num_heads"),
    ("deepfm", "model.hidden_units=[64, -1]", "model.hidden_units must be > 0"),
    ("deepfm", "model.dropout=1.5", r"model.dropout must be in \[0, 1\)"),
    ("deepfm", "train.learning_rate=-0.1", "train.learning_rate must be > 0"),
    ("deepfm", "train.epochs=0", "train.epochs must be >= 1"),
    ("deepfm", "train.checkpoint_every_steps=0", "train.checkpoint_every_steps must be >= 1"),
    ("deepfm", "train.strategy=gpu_farm", "train.strategy must be one of"),
    ("deepfm", "train.deterministic=maybe", "train.deterministic: expected true or false"),
    ("deepfm", "data.skip_corrupt_records=1", "data.skip_corrupt_records: expected true"),
    ("deepfm", "train.batch_size=1.5", "train.batch_size: expected an integer"),
    ("deepfm", "train.optimiser=sgd", r"unknown key\(s\) \['train.optimiser'\]"),
])
def test_bad_config_values_name_the_key(model, override, message):
    tally("bad inputs tried")
    with pytest.raises(ConfigError, match=message):
        config.resolve(model, params_override=override)


@pytest.mark.parametrize("text, message", [
    ("model_name: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
    ("- just\n- a list\n", "expected a mapping at the top level"),
    ("model_name: deepfm\ntrain: 3\n", "train: expected a mapping"),
])
def test_bad_experiment_files_are_rejected_safely(text, message, tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    tally("bad inputs tried")
    with pytest.raises(ConfigError, match=message):
        config.resolve(experiment=str(path))


@pytest.mark.parametrize("feature, message", [
    ({"name": "hist", "kind": "sequence", "vocab_size": 10, "max_len": 0},
     "a sequence needs max_len >= 1"),
    ({"name": "item_id", "kind": "sparse", "vocab_size": -5}, "vocab_size must be >= 0"),
    ({"name": "price", "kind": "dense", "dtype": "float32", "nonfinite": "ignore"},
     "nonfinite must be one of"),
    ({"name": "item_id", "kind": "sparse", "vocab_size": 10, "embeding_dim": 8},
     r"unknown keys \['embeding_dim'\]"),
])
def test_bad_schema_entries_name_the_feature(feature, message, tmp_path):
    path = os.path.join(tmp_path, "schema.yaml")
    with open(path, "w") as f:
        yaml.safe_dump({"features": [feature]}, f)
    tally("bad inputs tried")
    with pytest.raises(SchemaError, match=message):
        Schema.load(path)


def test_a_schema_with_python_objects_is_not_loaded(tmp_path):
    path = tmp_path / "schema.yaml"
    path.write_text("features: !!python/object/apply:os.system ['true']\n")
    tally("bad inputs tried")
    with pytest.raises(SchemaError, match="not valid YAML"):
        Schema.load(str(path))
