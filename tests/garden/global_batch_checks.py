"""Measurements for global_batch_test.py, in a process of its own: the CPU must be split into two
logical devices before TensorFlow initializes, which a pytest process has long done.

    python -m tests.garden.global_batch_checks WORLD_DIR MODEL_DIR   (prints one JSON line)

Every check runs the same global batch and the same initial weights once on one device and once
under MirroredStrategy over two logical CPUs, each replica getting its slice of the batch.
"""
import json
import os
import sys

import garden  # noqa: F401  (Keras 2 before TensorFlow loads)
from garden import distribute

distribute.split_cpu(2)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from garden import config, registry  # noqa: E402
from input.reader import make_dataset  # noqa: E402
from input.specs import Schema  # noqa: E402
from layers.in_batch_softmax import InBatchSoftmax  # noqa: E402


def per_replica(strategy, tensors, sizes):
    """The nest `tensors` split along axis 0 into consecutive slices of `sizes`, one per
    replica."""
    starts = np.cumsum([0] + list(sizes))

    def value(context):
        r = context.replica_id_in_sync_group
        return tf.nest.map_structure(lambda t: t[starts[r]:starts[r + 1]], tensors)
    return strategy.experimental_distribute_values_from_function(value)


def max_diff(a, b):
    return float(max(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64)))
                     for x, y in zip(a, b)))


def head_checks(strategy):
    """InBatchSoftmax alone: logQ, accidental hits across replicas (item 3 on both), mixed
    negatives given explicitly, and shards of unequal size (3 and 2 of a batch of 5)."""
    rng = np.random.default_rng(0)
    query = tf.constant(rng.normal(size=(5, 3)), tf.float32)
    items = tf.constant(rng.normal(size=(5, 3)), tf.float32)
    ids = tf.constant([3, 4, 7, 3, 6], tf.int64)
    negatives = tf.constant(rng.normal(size=(2, 3)), tf.float32)
    negative_ids = tf.constant([4, 9], tf.int64)
    sizes = (3, 2)
    out = {}
    for mixed in (False, True):
        kwargs = dict(temperature=0.5, alpha=0.5, num_negatives=2 if mixed else 0,
                      num_items=10)
        extra = dict(negative_vectors=negatives, negative_ids=negative_ids) if mixed else {}

        def step(head, q, v, i):
            with tf.GradientTape() as tape:
                tape.watch([q, v])
                loss = tf.nn.compute_average_loss(head.loss(q, v, i, training=True, **extra),
                                                  global_batch_size=5)
            return loss, tape.gradient(loss, [q, v])

        one = InBatchSoftmax(**kwargs)
        one_losses = []
        for _ in range(2):  # step 2 reads the estimate step 1 wrote
            loss, grads = step(one, query, items, ids)
            one_losses.append(float(loss))
        # Per-replica negatives at step 1: each shard's queries against its own shard's items
        # only, with an estimator of its own (the losses add up to the global-batch mean).
        local_loss = 0.0
        for start, size in ((0, 3), (3, 2)):
            loss, _ = step(InBatchSoftmax(**kwargs), query[start:start + size],
                           items[start:start + size], ids[start:start + size])
            local_loss += float(loss)

        with strategy.scope():
            head = InBatchSoftmax(**kwargs)
        run = tf.function(lambda q, v, i: strategy.run(lambda *a: step(head, *a),
                                                        args=(q, v, i)))
        args = per_replica(strategy, (query, items, ids), sizes)
        mirrored_losses = []
        for _ in range(2):
            loss, mirrored_grads = run(*args)
            mirrored_losses.append(float(strategy.reduce("SUM", loss, axis=None)))
        mirrored_grads = [tf.concat(strategy.experimental_local_results(g), 0)
                          for g in mirrored_grads]
        copies = [[v.values[r].numpy() for v in head.estimator.weights] for r in range(2)]
        key = "mixed" if mixed else "in_batch"
        out[key] = {"one_device_loss": one_losses, "mirrored_loss": mirrored_losses,
                    "per_replica_negatives_loss": local_loss,
                    "grad_diff": max_diff(grads, mirrored_grads),
                    "estimator_diff": max_diff([v.numpy() for v in one.estimator.weights],
                                               copies[0]),
                    "estimator_copies_diff": max_diff(*copies),
                    "estimator_step": int(head.estimator.step.numpy())}
    return out


def state(model):
    """Trainable weights and the frequency estimator's arrays (not the metrics')."""
    return [v.numpy() for v in model.trainable_weights + model.head.estimator.weights]


def two_tower_checks(strategy, world):
    """two_tower's Keras train_step, two SGD steps on one global batch of 128."""
    cfg = config.resolve("two_tower", overrides={
        "data.data_dir": world, "model.embedding_dim": 8, "model.user_hidden_units": [16],
        "model.item_hidden_units": [16]})
    schema = Schema.load(os.path.join(world, "retrieval"))
    pattern = os.path.join(world, "retrieval", "train-*")
    batch = next(iter(make_dataset(schema, pattern, 128, training=False)))

    def build():
        model = registry.build_model(cfg, schema)
        model.compile(optimizer=tf.keras.optimizers.SGD(0.1))
        model(batch[0])  # creates both towers' variables
        model.item_tower(batch[0][model.target])
        return model

    one = build()
    with strategy.scope():
        mirrored = build()
    initial, initial_weights = state(one), one.get_weights()
    mirrored.set_weights(initial_weights)

    one_step = tf.function(one.train_step)
    mirrored_step = tf.function(lambda b: strategy.run(mirrored.train_step, args=(b,)))
    shards = per_replica(strategy, batch, (64, 64))
    one_losses, mirrored_losses = [], []
    for _ in range(2):
        one.loss_tracker.reset_state()
        mirrored.loss_tracker.reset_state()
        one_losses.append(float(one_step(batch)["loss"]))
        logs = mirrored_step(shards)
        mirrored_losses.append(float(strategy.experimental_local_results(logs["loss"])[0]))
    # What per-replica negatives would give at step 1: each half scored against its own
    # items only, with its own estimator.
    local = []
    for start in (0, 64):
        fresh = build()
        fresh.set_weights(initial_weights)
        half = tf.nest.map_structure(lambda t: t[start:start + 64], batch)
        local.append(float(fresh.task_loss(half, training=True)))
    return {"one_device_loss": one_losses,
            "mirrored_loss": mirrored_losses, "per_replica_negatives_loss": float(np.mean(local)),
            "estimator_step": int(mirrored.head.estimator.step.numpy()),
            "weight_diff": max_diff(state(one), state(mirrored)),
            "moved": max_diff(state(one), initial)}


def train_checks(strategy, world, model_dir):
    """garden.train's own path for two_tower under mirrored: the global batch and learning
    rate it logs, and what each replica's head sees inside Keras fit (the mean over replicas
    and steps of its query batch, and of the candidates it scores them against)."""
    import layers.in_batch_softmax as head_module
    from garden import train
    with strategy.scope():
        queries, candidates = tf.keras.metrics.Mean(), tf.keras.metrics.Mean()
    loss, gather = InBatchSoftmax.loss, head_module._global_batch

    def recording_loss(self, query, *args, **kwargs):
        queries.update_state(tf.cast(tf.shape(query)[0], tf.float32))
        return loss(self, query, *args, **kwargs)

    def recording_gather(vectors, ids):
        out = gather(vectors, ids)
        candidates.update_state(tf.cast(tf.shape(out[1])[0], tf.float32))
        return out

    InBatchSoftmax.loss, head_module._global_batch = recording_loss, recording_gather
    cfg = config.resolve("two_tower", overrides={
        "data.data_dir": world, "train.batch_size": 64, "train.epochs": 1,
        "train.strategy": "mirrored"})
    lines = []
    result = train.train(cfg, model_dir, log=lines.append, strategy=strategy)
    InBatchSoftmax.loss, head_module._global_batch = loss, gather
    return {"log": [line for line in lines if line.startswith("Training")],
            "queries_per_replica": float(queries.result()),
            "candidates_per_query": float(candidates.result()),
            "steps": result["train"]["steps"], "train_records": result["data"]["train_records"],
            "eval": result["eval"],
            "export_diff": result["export"]["max_abs_diff"]}


def main(world, model_dir):
    strategy = distribute.make_strategy("mirrored")
    tf.keras.utils.set_random_seed(0)
    out = {"replicas": strategy.num_replicas_in_sync, "head": head_checks(strategy)}
    out["two_tower"] = two_tower_checks(strategy, world)
    out["train"] = train_checks(strategy, world, model_dir)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
