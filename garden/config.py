"""Typed experiment configs: dataclass defaults <- experiment YAML <- --params_override <- flags.

Unknown keys, wrong types and out-of-range values are errors that name the key. YAML is read
with yaml.safe_load, so a config can never build arbitrary Python objects.
"""
import dataclasses
import importlib.resources
import os
import typing

import yaml

from garden import registry


class ConfigError(ValueError):
    """An experiment config that cannot be used as written."""


@dataclasses.dataclass
class TaskConfig:
    label: str = "click"  # ranking: the label feature the model predicts
    item: str = "item_id"  # the item id feature: retrieval target, popularity baseline key
    group: str = "user_id"  # per-user metrics (GAUC, per-user recall)
    oracle_label: str = "true_ctr"  # known click probability, synthetic data only
    # Multi-task ranking models (mmoe, ple, esmm) read these; single-task models read `label`.
    labels: typing.List[str] = dataclasses.field(default_factory=list)  # main task first
    loss_weights: typing.List[float] = dataclasses.field(default_factory=list)  # empty: all 1
    # Per task, the label feature holding its true probability, "a*b" for a product of two
    # (conversion over impressions: true_ctr*true_cvr), or "" for none; empty list: the main
    # task gets oracle_label, the others none.
    oracle_labels: typing.List[str] = dataclasses.field(default_factory=list)

    def __post_init__(self):
        if len(set(self.labels)) != len(self.labels):
            raise ConfigError(f"task.labels must not repeat a label, got {self.labels}")
        for key in ("loss_weights", "oracle_labels"):
            value = getattr(self, key)
            if value and len(value) != len(self.labels):
                raise ConfigError(f"task.{key} needs one entry per task.labels entry "
                                  f"({self.labels}), got {value}")
        if any(not w >= 0 for w in self.loss_weights) or (
                self.loss_weights and not sum(self.loss_weights) > 0):
            raise ConfigError(f"task.loss_weights must be >= 0 and not all 0, got "
                              f"{self.loss_weights}")


@dataclasses.dataclass
class DataConfig:
    data_dir: str = ""  # folder with schema.yaml and TFRecords; empty = the synthetic world
    # The dataset the experiment is tuned for (a garden.data --dataset name); any other than
    # "synthetic" needs data_dir, the folder that converter wrote.
    dataset: str = "synthetic"
    synthetic_examples: int = 300_000  # size of the synthetic world when data_dir is empty
    synthetic_seed: int = 0
    train_pattern: str = "train-*.tfrecord"
    eval_pattern: str = "test-*.tfrecord"
    shuffle_buffer: int = 20_000
    skip_corrupt_records: bool = False  # train on the readable part of damaged files
    # Training files up to this size (MB on disk) are parsed once into memory and batched
    # from there, reshuffled whole every epoch (input.reader.memory_dataset); 0: always
    # stream them from disk through a shuffle buffer.
    in_memory_mb: int = 512

    def __post_init__(self):
        _check_min(self, "synthetic_examples", 500)
        _check_min(self, "shuffle_buffer", 0)
        _check_min(self, "in_memory_mb", 0)


@dataclasses.dataclass
class TrainConfig:
    epochs: int = 1
    batch_size: int = 512
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    seed: int = 42
    steps_per_execution: int = 20  # steps per tf.function call: less Python per step
    jit_compile: bool = False  # XLA-compile the train step; on CPU it wins for some models only
    log_every_steps: int = 100
    strategy: str = "one_device"  # see garden/distribute.py
    tpu: str = ""  # TPU name or address, for strategy tpu
    mixed_precision: str = "float32"  # or "bfloat16": mixed_bfloat16 compute
    scale_learning_rate: bool = True  # synchronous strategies: lr x replicas
    checkpoint_every_steps: int = 500  # and at every epoch end; a restarted run resumes there
    deterministic: bool = False  # tf.config.experimental.enable_op_determinism()

    def __post_init__(self):
        _check_min(self, "epochs", 1)
        _check_min(self, "batch_size", 1)
        _check_min(self, "steps_per_execution", 1)
        _check_min(self, "log_every_steps", 1)
        _check_min(self, "checkpoint_every_steps", 1)
        if not self.learning_rate > 0:
            raise ConfigError(f"train.learning_rate must be > 0, got {self.learning_rate}")
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"train.strategy must be one of {STRATEGIES}, got "
                              f"{self.strategy!r}")
        if self.mixed_precision not in PRECISIONS:
            raise ConfigError(f"train.mixed_precision must be one of {PRECISIONS}, got "
                              f"{self.mixed_precision!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"train.optimizer must be one of {OPTIMIZERS}, got "
                              f"{self.optimizer!r}")


STRATEGIES = ("one_device", "mirrored", "multi_worker", "parameter_server", "tpu")
PRECISIONS = ("float32", "bfloat16")
# "adam" is Keras Adam's update through TensorFlow's fused kernel (garden/optimizers.py);
# "keras_adam" is tf.keras.optimizers.Adam itself.
OPTIMIZERS = ("adam", "keras_adam", "adagrad", "sgd", "rmsprop")
CALIBRATIONS = ("", "platt", "isotonic")


@dataclasses.dataclass
class EvalConfig:
    batch_size: int = 2048
    top_k: typing.List[int] = dataclasses.field(default_factory=lambda: [10, 50, 100])
    calibrate: str = ""  # ranking: "platt" or "isotonic" (garden/calibration.py); "" = none
    base_auc: bool = False  # ranking: also train on user+context features only (costly)

    def __post_init__(self):
        _check_min(self, "batch_size", 1)
        if self.calibrate not in CALIBRATIONS:
            raise ConfigError(f"eval.calibrate must be one of {CALIBRATIONS}, got "
                              f"{self.calibrate!r}")
        if not self.top_k or min(self.top_k) < 1:
            raise ConfigError(f"eval.top_k must be a non-empty list of positive ints, got "
                              f"{self.top_k}")


@dataclasses.dataclass
class ExperimentConfig:
    model_name: str
    model: typing.Any
    task: TaskConfig = dataclasses.field(default_factory=TaskConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)


def _check_min(section, key, minimum):
    value = getattr(section, key)
    if value < minimum:
        name = type(section).__name__.replace("Config", "").lower()
        raise ConfigError(f"{name}.{key} must be >= {minimum}, got {value}")


def check_positive(section, prefix, *keys):
    """For model configs: every named int/float field must be > 0."""
    for key in keys:
        value = getattr(section, key)
        if isinstance(value, list):
            bad = [v for v in value if not v > 0]
        else:
            bad = [] if value > 0 else [value]
        if bad:
            raise ConfigError(f"{prefix}.{key} must be > 0, got {value}")


def experiment_path(name):
    """A YAML path, or the name of a bundled experiment (`sdm_synthetic`)."""
    if name.endswith((".yaml", ".yml")) or os.sep in name:
        if not os.path.exists(name):
            raise ConfigError(f"--experiment: no file {name}")
        return name
    path = importlib.resources.files("experiments").joinpath(f"{name}.yaml")
    if not path.is_file():
        known = sorted(p.name[:-5] for p in importlib.resources.files("experiments").iterdir()
                       if p.name.endswith(".yaml"))
        raise ConfigError(f"--experiment: no bundled experiment {name!r}; known: {known}")
    return str(path)


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        try:
            data = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def resolve(model_name=None, experiment=None, params_override="", overrides=None):
    """Builds the ExperimentConfig.

    model_name: registry name; optional when the experiment names it (`model_name:`).
    experiment: bundled name or YAML path; default `<model_name>_synthetic`.
    params_override: "model.embedding_dim=32,train.epochs=2" (values parsed as YAML).
    overrides: {"train.epochs": 2, ...} from command-line flags, applied last.
    """
    values = {}
    if experiment is None and model_name:
        default = f"{model_name}_synthetic"
        if importlib.resources.files("experiments").joinpath(f"{default}.yaml").is_file():
            experiment = default
    if experiment:
        path = experiment_path(experiment)
        values = load_yaml(path)
        named = values.get("model_name")
        if model_name and named and named != model_name:
            raise ConfigError(f"{path} is an experiment for {named!r}, not {model_name!r}")
        model_name = model_name or named
    if not model_name:
        raise ConfigError("name a model (--model) or an experiment that sets model_name")
    entry = registry.get_model(model_name)
    values["model_name"] = model_name
    for key, value in parse_overrides(params_override).items():
        _set_dotted(values, key, value)
    for key, value in (overrides or {}).items():
        _set_dotted(values, key, value)
    default = ExperimentConfig(model_name=model_name, model=entry.config())
    return _merge(default, values, "")


def from_dict(values):
    """An ExperimentConfig from a resolved dict (as written to config.yaml)."""
    if "model_name" not in values:
        raise ConfigError("config has no model_name")
    entry = registry.get_model(values["model_name"])
    return _merge(ExperimentConfig(model_name=values["model_name"], model=entry.config()),
                  values, "")


def to_dict(config):
    return dataclasses.asdict(config)


def save(config, path):
    from input.atomic import atomic_write_text
    atomic_write_text(path, yaml.safe_dump(to_dict(config), sort_keys=False))


def load(path):
    return from_dict(load_yaml(path))


def parse_overrides(text):
    """'a.b=1,c=[1, 2]' -> {'a.b': 1, 'c': [1, 2]}; commas inside brackets stay in the value."""
    out, depth, start, parts = {}, 0, 0, []
    for i, ch in enumerate(text or ""):
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append((text or "")[start:])
    for part in parts:
        if not part.strip():
            continue
        if "=" not in part:
            raise ConfigError(f"--params_override: expected key=value, got {part!r}")
        key, raw = part.split("=", 1)
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            raise ConfigError(f"--params_override: cannot parse the value of {key!r}: {raw!r}") \
                from None
    return out


def _set_dotted(values, key, value):
    node = values
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{key}: {part!r} is not a section")
        node = child
    node[parts[-1]] = value


def _merge(instance, values, path):
    """A copy of dataclass `instance` with `values` applied, type-checked key by key."""
    if not isinstance(values, dict):
        raise ConfigError(f"{path or 'config'}: expected a mapping, got {values!r}")
    fields = {f.name: f for f in dataclasses.fields(instance)}
    hints = typing.get_type_hints(type(instance))
    unknown = sorted(set(values) - set(fields))
    if unknown:
        where = path or "the top level"
        raise ConfigError(f"unknown key(s) {[_join(path, k) for k in unknown]} in {where}; "
                          f"known: {sorted(fields)}")
    updates = {}
    for key, value in values.items():
        current = getattr(instance, key)
        name = _join(path, key)
        if dataclasses.is_dataclass(current):
            updates[key] = _merge(current, value, name)
        else:
            updates[key] = _coerce(value, hints[key], name)
    return dataclasses.replace(instance, **updates)


def _join(path, key):
    return f"{path}.{key}" if path else key


def _coerce(value, hint, name):
    origin = typing.get_origin(hint)
    if origin in (list, typing.List):
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{name}: expected a list of {item.__name__}, got {value!r}")
        return [_coerce(v, item, f"{name}[{i}]") for i, v in enumerate(value)]
    if hint is typing.Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{name}: unsupported config type {hint}")
