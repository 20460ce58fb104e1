"""The classic CTR models' config choices: validation, and every variant that the default
experiments do not run trains, exports and reloads (models_test runs the defaults)."""
import os

import numpy as np
import pytest

from garden import config, registry, train
from garden.config import ConfigError
from input.specs import Schema

# (model, params_override): structures and products the default experiments leave out, the
# first trained in mixed_bfloat16 (evaluated and exported in float32 as always).
VARIANTS = [
    ("dcn_v2", "model.cross=mix,model.structure=parallel,model.cross_layers=2,"
               "model.hidden_units=[16],train.mixed_precision=bfloat16"),
    ("dcn_v2", "model.cross=low_rank,model.projection_dim=8,model.hidden_units=[16]"),
    ("pnn", "model.product=both,model.hidden_units=[16]"),
    ("wdl", "model.wide_crosses=[age:price_bucket, gender:cat_id],model.hidden_units=[16]"),
    ("ffm", "model.use_sequences=true"),
    ("dcn", "model.use_linear=true,model.cross_layers=2,model.hidden_units=[16]"),
]


@pytest.mark.parametrize("name,override", VARIANTS)
def test_variant_trains_exports_and_reloads(name, override, tiny_world, tmp_path):
    # A few steps on ~3,000 examples: too few to ask for learning, which models_test checks
    # on the default experiments.
    cfg = config.resolve(name, params_override=override, overrides={"data.data_dir": tiny_world})
    result = train.train(cfg, str(tmp_path / name), log=lambda *a: None)
    assert np.isfinite(list(result["eval"].values())).all(), result["eval"]
    assert result["export"]["max_abs_diff"] <= 1e-5, result["export"]
    assert os.path.exists(os.path.join(result["export"]["path"], "saved_model.pb"))


@pytest.mark.parametrize("name,override,message", [
    ("dcn_v2", "model.cross=diagonal", "model.cross must be one of"),
    ("dcn_v2", "model.structure=side_by_side", "model.structure must be one of"),
    ("dcn_v2", "model.num_experts=0", "model.num_experts must be > 0"),
    ("dcn", "model.cross_layers=0", "model.cross_layers must be > 0"),
    ("pnn", "model.product=kernel", "model.product must be one of"),
    ("wdl", "model.wide_crosses=[age]", "'age' is not 'feature_a:feature_b'"),
    ("wdl", "model.wide_crosses=[age:age]", "two different features"),
    ("fm", "model.embedding_dim=0", "model.embedding_dim must be > 0"),
    ("deepfm", "model.hidden_units=[]", "at least one layer"),
    ("ffm", "model.l2_embedding=-1", "model.l2_embedding must be >= 0"),
    ("deepfm", "model.embedding_init_scale=0", "model.embedding_init_scale must be > 0"),
])
def test_bad_config_names_the_key(name, override, message):
    with pytest.raises(ConfigError, match=message):
        config.resolve(name, params_override=override)


def _build(name, override, tiny_world):
    cfg = config.resolve(name, params_override=override)
    schema = Schema.load(os.path.join(tiny_world, "ranking"))
    return registry.build_model(cfg, schema), schema


def test_wdl_cross_names_an_unknown_feature(tiny_world):
    with pytest.raises(ValueError, match="'colour' is not a sparse feature"):
        _build("wdl", "model.wide_crosses=[age:colour]", tiny_world)


def test_wdl_cross_is_one_exact_id_per_pair(tiny_world):
    model, schema = _build("wdl", "model.wide_crosses=[age:price_bucket]", tiny_world)
    rows = schema.vocab_size("age") * schema.vocab_size("price_bucket")
    assert model.wide.vocab_sizes["age_x_price_bucket"] == rows


def test_ffm_row_holds_one_embedding_per_field(tiny_world):
    model, schema = _build("ffm", "model.embedding_dim=3", tiny_world)
    table = schema["user_id"].table
    assert model.embedding.tables[table][1] == 3 * model.num_fields
    assert model.num_fields == len(schema.of_kind("sparse"))


def test_field_models_need_a_sparse_feature(tiny_world):
    with pytest.raises(ConfigError, match="needs at least one sparse feature"):
        _build("fm", "model.features=[price]", tiny_world)


@pytest.mark.parametrize("scale", [1e-4, 0.05])
def test_embedding_init_scale_bounds_the_initial_tables(scale, tiny_world):
    model, schema = _build("deepfm", f"model.embedding_init_scale={scale}", tiny_world)
    model.embedding.build(None)
    values = np.concatenate([t.numpy().ravel() for t in model.embedding.embeddings.values()])
    # Uniform in [-scale, scale]: inside the bound, and spread over it (tens of thousands of
    # draws put the largest within a hair of the bound and the spread near scale / sqrt(3)).
    assert np.abs(values).max() <= scale
    assert np.abs(values).max() > 0.99 * scale
    assert abs(values.std() - scale / np.sqrt(3)) < 0.05 * scale
