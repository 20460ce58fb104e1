"""Distribution strategies: TensorFlow's own runtime, chosen by name.

- one_device: the default strategy (one GPU if there is one, else the CPU).
- mirrored: synchronous data parallelism over this machine's GPUs (or its logical CPUs).
- multi_worker: synchronous data parallelism over several hosts, from TF_CONFIG.
- parameter_server: asynchronous training; variables (embedding tables sharded across the
  servers) live on parameter servers, workers run steps; from TF_CONFIG, this process being the
  chief (coordinator). Worker and ps processes run `python -m garden.server`.
- tpu: TPUStrategy on the TPU named by --tpu.

`train.batch_size` is the per-replica batch: the global batch is batch_size x replicas, and
for the synchronous strategies the learning rate is scaled by the same factor (linear scaling;
train.scale_learning_rate=false keeps it).
"""
import json
import os

import tensorflow as tf

from garden.config import STRATEGIES


def set_precision(name):
    """Sets the global Keras policy: "float32", or "bfloat16" for mixed_bfloat16 (variables
    stay float32; the garden's layers keep embeddings, softmax and outputs in float32)."""
    policy = {"float32": "float32", "bfloat16": "mixed_bfloat16"}[name]
    tf.keras.mixed_precision.set_global_policy(policy)


def split_cpu(num_devices):
    """Splits the CPU into `num_devices` logical devices (before TensorFlow initializes), so
    mirrored training can be exercised on a machine without GPUs."""
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(num_devices)])


def make_strategy(name, tpu="", cluster_resolver=None, ps_shard_bytes=256 << 10):
    """The tf.distribute.Strategy called `name`.

    cluster_resolver: for multi_worker/parameter_server, a resolver to use instead of TF_CONFIG
    (tests build in-process clusters this way).
    """
    if name not in STRATEGIES:
        raise ValueError(f"--strategy must be one of {STRATEGIES}, got {name!r}")
    if name == "one_device":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if tf.config.list_logical_devices("GPU"):
            return tf.distribute.MirroredStrategy()
        return tf.distribute.MirroredStrategy(
            [d.name for d in tf.config.list_logical_devices("CPU")])
    if name == "tpu":
        if not tpu:
            raise ValueError("--strategy=tpu needs --tpu (a TPU name, grpc:// address or 'local')")
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if cluster_resolver is None:
        _require_tf_config(name)
        cluster_resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=cluster_resolver)
    num_ps = len(cluster_resolver.cluster_spec().as_dict().get("ps", []))
    if num_ps < 1:
        raise ValueError("--strategy=parameter_server: the cluster has no 'ps' tasks")
    partitioner = tf.distribute.experimental.partitioners.MinSizePartitioner(
        min_shard_bytes=ps_shard_bytes, max_shards=num_ps)
    return tf.distribute.experimental.ParameterServerStrategy(
        cluster_resolver, variable_partitioner=partitioner)


def _require_tf_config(name):
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError(f"--strategy={name} reads the cluster from TF_CONFIG, which is not set")
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON: {e}") from None
    if "cluster" not in config or "task" not in config:
        raise ValueError("TF_CONFIG needs 'cluster' and 'task'")


def num_replicas(strategy):
    """Replicas that share one synchronous step (workers, for parameter servers)."""
    if isinstance(strategy, tf.distribute.experimental.ParameterServerStrategy):
        return 1  # every worker runs its own steps on its own batch
    return strategy.num_replicas_in_sync


def is_chief(strategy):
    """Whether this process writes checkpoints, summaries, metrics and exports."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(
            strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type in (None, "chief") or (
        task_type == "worker" and task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict())


def is_parameter_server(strategy):
    return isinstance(strategy, tf.distribute.experimental.ParameterServerStrategy)
