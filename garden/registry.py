"""Model registry: every model is found by name (`garden.registry.list_models()`)."""
import dataclasses
import importlib
from typing import Callable

TASKS = ("ranking", "retrieval")
_MODELS = {}


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    name: str
    task: str  # "ranking" or "retrieval"
    config: type  # dataclass of the model's hyperparameters
    build: Callable  # build(schema, task_config, model_config) -> a garden model


def register_model(name, task, config):
    """Decorator: registers `build(schema, task_config, model_config)` under `name`."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")

    def decorate(build):
        if name in _MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        _MODELS[name] = ModelEntry(name, task, config, build)
        return build
    return decorate


def _load_models():
    importlib.import_module("garden.models")  # its __init__ imports every model module


def list_models(task=None):
    _load_models()
    return sorted(n for n, e in _MODELS.items() if task in (None, e.task))


def get_model(name):
    _load_models()
    if name not in _MODELS:
        raise KeyError(f"unknown model {name!r}; registered models: {list_models()}")
    return _MODELS[name]


def build_model(config, schema):
    """The model named by an ExperimentConfig, built for `schema`."""
    entry = get_model(config.model_name)
    model = entry.build(schema, config.task, config.model)
    if config.task.labels and not getattr(model, "multitask", False):
        from garden.config import ConfigError
        raise ConfigError(f"task.labels is for multi-task models (mmoe, ple, esmm); "
                          f"{config.model_name!r} predicts the one label task.label")
    return model
