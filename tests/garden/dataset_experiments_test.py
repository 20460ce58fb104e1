"""Every bundled dataset experiment builds its model on that dataset's converted data, and the
model takes a training step on it (fixtures in the raw layouts, the real Criteo/Avazu samples)."""
import glob
import os

import numpy as np
import pytest
import tensorflow as tf
import yaml

from garden import config, data, optimizers, registry
from input import converters
from input.reader import make_dataset
from input.specs import Schema
from tests.input import raw_fixtures as fx
from tests.input.converters_test import SAMPLES

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def dataset_experiments():
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "experiments", "*.yaml"))):
        dataset = (yaml.safe_load(open(path)).get("data") or {}).get("dataset", "synthetic")
        if dataset != "synthetic":
            out.append((os.path.basename(path)[:-5], dataset))
    return out


def write_raw(dataset, folder):
    """The raw files of `dataset` in `folder` (fixtures; Criteo/Avazu: the shared samples)."""
    if dataset in ("criteo", "avazu"):
        return os.path.join(SAMPLES, "criteo_sample.txt") if dataset == "criteo" else SAMPLES
    # Enough items for the retrieval defaults (200 sampled negatives, top 100).
    rows = fx.make_log(num_users=80, num_items=300, events=(6, 16), seed=4)
    {"movielens-1m": fx.write_ml1m, "amazon": fx.write_amazon,
     "taobao-userbehavior": fx.write_taobao}[dataset](folder, rows)
    return folder


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    cache = {}

    def get(dataset):
        if dataset not in cache:
            root = tmp_path_factory.mktemp(dataset)
            raw = write_raw(dataset, str(root / "raw"))
            cache[dataset] = str(root / "out")
            converters.convert(dataset, raw, cache[dataset], min_count=1, log=lambda *a: None)
        return cache[dataset]
    return get


def test_every_converted_dataset_has_experiments():
    datasets = {d for _, d in dataset_experiments()}
    assert {"criteo", "avazu", "movielens-1m", "amazon", "taobao-userbehavior"} <= datasets


@pytest.mark.parametrize("experiment, dataset", dataset_experiments())
def test_experiment_trains_a_step_on_its_dataset(experiment, dataset, converted):
    cfg = config.resolve(experiment=experiment,
                         overrides={"data.data_dir": converted(dataset)})
    task = registry.get_model(cfg.model_name).task
    data_dir = data.task_data_dir(cfg.data, task, log=lambda *a: None)
    schema = Schema.load(data_dir)
    model = registry.build_model(cfg, schema)
    model.prepare(os.path.join(data_dir, cfg.data.train_pattern))
    model.compile(optimizers.make(cfg.train.optimizer, cfg.train.learning_rate))
    batch = next(iter(make_dataset(schema, os.path.join(data_dir, cfg.data.train_pattern), 32,
                                   training=True, seed=0)))
    logs = model.train_step(batch)
    assert np.isfinite(float(logs["loss"])), logs
    outputs = model.serving_outputs(batch[0])
    for name, value in outputs.items():
        if value.dtype.is_floating:
            assert np.all(np.isfinite(tf.cast(value, tf.float32).numpy())), name
