"""Training throughput of a garden model, alone or against the same model in DeepCTR/DeepMatch.

    python tools/benchmark.py --model=deepfm [--data=criteo] [--vs=deepctr]
        [--batch_size=1024] [--steps=300] [--repeats=3] [--epochs=1] [--quality_runs=1]
        [--mixed_precision=bfloat16]  # the garden side only; peers stay float32

Data: `criteo` is a Criteo-shaped synthetic set (13 dense + 26 sparse fields, Criteo-like
cardinalities, labels from a known logistic model with crosses) written once as TFRecords;
`sequence` is the synthetic world's ranking data (behaviour sequences, for DIN-style models);
`retrieval` is the synthetic world's retrieval data (for SDM / YouTube DNN).

Throughput: train examples/s over `--steps` steps after `--warmup` steps (tracing and the first
shuffle-buffer fill are left out), each framework in its own fresh process, alternating
(garden, peer, garden, peer, ...); the median of each and their ratio are printed. Quality:
after `--epochs` full epochs on the train split from a fresh model, the AUC (or HR@50) on the
test split, same data, features, embedding size, hidden units, batch size and optimizer
(Adam, learning rate 1e-3) for both: Keras Adam for the peer, the garden's fused-kernel
implementation of the same update for the garden (tests/garden/optimizers_test.py checks they
match). The garden's model is set where its experiment differs from DeepCTR's model:
embeddings start with DeepCTR's spread (sd 1e-4, not the garden's default 0.05), and
MATCH_DEEPCTR gives DCN DeepCTR's cross layers and first-order term, AutoInt its first-order
term and attention width. One quality run by default; `--quality_runs=N` trains N fresh
models per framework (run i: model seed and shuffle seed i, for both) and prints mean +- sd,
as one-epoch AUC moves by a few thousandths between seeds. Peers are optional and installed
without their dependencies, as their pins predate TF 2.21:
`pip install --no-deps deepctr==0.9.4 deepmatch==0.3.2 && pip install h5py requests`.
"""
import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import garden  # noqa: F401  (Keras 2 before TensorFlow loads)
import tensorflow as tf  # noqa: E402

from garden import config, data, distribute, optimizers, registry  # noqa: E402
from garden import metrics as metrics_lib  # noqa: E402
from input.reader import count_records, fits_in_memory, make_dataset  # noqa: E402
from input.specs import FeatureSpec, Schema  # noqa: E402
from input.writer import write_tfrecords  # noqa: E402

# Cardinalities shaped like Criteo's 26 categorical fields (large ones capped at 200,000).
CRITEO_VOCABS = [1460, 583, 200000, 150000, 305, 24, 12517, 633, 3, 93145, 5683, 180000, 3194,
                 27, 14992, 170000, 10, 5652, 2173, 4, 160000, 18, 15, 100000, 105, 82000]
HIDDEN = [256, 128]
EMBEDDING_DIM = 16
LEARNING_RATE = 1e-3
# Retrieval: the garden's SDM defaults (its experiment's embedding size and learning rate).
RETRIEVAL_EMBEDDING_DIM = 32
RETRIEVAL_LEARNING_RATE = 3e-3
NUM_SAMPLED = 200
HR_AT = 50


def criteo_schema():
    specs = [FeatureSpec(f"I{i}", "dense", dtype="float32") for i in range(1, 14)]
    specs += [FeatureSpec(f"C{i}", "sparse", vocab_size=v + 1, embedding_dim=EMBEDDING_DIM)
              for i, v in enumerate(CRITEO_VOCABS, 1)]
    specs.append(FeatureSpec("click", "label", dtype="float32"))
    return Schema(specs)


def write_criteo_like(out_dir, num_examples, seed=0):
    """Criteo-shaped examples: Zipf ids per field, log-normal counts, clicks from a logistic
    model with per-id weights, dense weights and a few field crosses."""
    rng = np.random.default_rng(seed)
    columns, logit = {}, np.full(num_examples, -1.5)
    for i in range(1, 14):
        raw = rng.lognormal(1.0, 1.2, num_examples)
        columns[f"I{i}"] = np.log1p(raw).astype(np.float32)
        logit += rng.normal(0, 0.15) * (columns[f"I{i}"] - 1.0)
    ids = {}
    for i, vocab in enumerate(CRITEO_VOCABS, 1):
        ranks = rng.zipf(1.2, num_examples)
        ids[i] = np.minimum(ranks, vocab)  # 1..vocab, heavy-headed like real categories
        columns[f"C{i}"] = ids[i]
        weights = rng.normal(0, 0.3, vocab + 1)
        logit += weights[ids[i]]
    for a, b in ((1, 2), (5, 6), (9, 13), (17, 20), (22, 25)):
        cross = rng.normal(0, 0.6, 4096)
        logit += cross[(ids[a] * 1000003 + ids[b]) % 4096]
    columns["click"] = (rng.random(num_examples) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    schema = criteo_schema()
    test = rng.random(num_examples) < 0.1
    for prefix, rows, shards in (("train", ~test, 4), ("test", test, 1)):
        write_tfrecords(schema, {k: v[rows] for k, v in columns.items()}, out_dir, prefix,
                        shards)
    schema.save(os.path.join(out_dir, "schema.yaml"))


def data_dir(name, num_examples):
    if name == "criteo":
        path = os.path.join(data.cache_root(), f"criteo-like-n{num_examples}")
        if not os.path.exists(os.path.join(path, "schema.yaml")):
            print(f"writing the Criteo-shaped data to {path} ...", flush=True)
            tmp = path + ".tmp"
            write_criteo_like(tmp, num_examples)
            os.replace(tmp, path)
        return path
    world = data.synthetic_dir(num_examples, 0)
    return os.path.join(world, "retrieval" if name == "retrieval" else "ranking")


class StepTimer(tf.keras.callbacks.Callback):
    """Wall time from the end of step `warmup` to the end of training."""

    def __init__(self, warmup):
        super().__init__()
        self.warmup, self.start, self.steps = warmup, None, 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps = batch + 1
        if self.start is None and self.steps >= self.warmup:
            self.start, self.start_step = time.perf_counter(), self.steps
            self.cpu_start = time.process_time()

    def on_train_end(self, logs=None):
        self.seconds = time.perf_counter() - self.start
        # CPU time of the whole process (training and input threads): on a machine shared
        # with other jobs it moves much less with their load than wall time does.
        self.cpu_seconds = time.process_time() - self.cpu_start
        self.timed_steps = self.steps - self.start_step


# Where the garden's experiment differs from the DeepCTR model deepctr_model builds, the
# garden is set to DeepCTR's choice: DCN and AutoInt with DeepCTR's first-order term, DCN with
# 2 cross layers (deepctr_model's cross_num), AutoInt with DeepCTR's attention width
# (att_embedding_size 8).
# DeepCTR starts embeddings at N(0, 1e-4); the garden's field models at uniform [-scale, scale]:
# this scale gives the same standard deviation (scale / sqrt(3) = 1e-4). It matters on this
# data: 26 fields of up to 200,000 ids, most seen a few times in one epoch, whose start values
# stay noise; with the garden's default 0.05, deepfm's one-epoch AUC is 0.005 lower.
DEEPCTR_EMBEDDING_SCALE = 3 ** 0.5 * 1e-4
MATCH_DEEPCTR = {
    "dcn": {"model.cross_layers": 2, "model.use_linear": True},
    "autoint": {"model.use_linear": True, "model.head_dim": 8},
}


# ----------------------------------------------------------------------------- garden side
def garden_model(model_name, schema):
    entry = registry.get_model(model_name)
    retrieval = entry.task == "retrieval"
    overrides = {"model.embedding_dim": RETRIEVAL_EMBEDDING_DIM if retrieval else EMBEDDING_DIM}
    fields = {f.name for f in dataclasses.fields(entry.config)}
    if "hidden_units" in fields:
        overrides["model.hidden_units"] = HIDDEN
    if "num_sampled" in fields:
        overrides["model.num_sampled"] = NUM_SAMPLED
    if "l2_embedding" in fields:
        overrides["model.l2_embedding"] = 0.0  # DeepCTR's is turned off the same way
    if "embedding_init_scale" in fields:
        overrides["model.embedding_init_scale"] = DEEPCTR_EMBEDDING_SCALE
    overrides.update(MATCH_DEEPCTR.get(model_name, {}))
    cfg = config.resolve(model_name, overrides=overrides)
    if entry.task == "ranking" and "click" in schema:
        cfg.task.label = "click"
    return cfg, registry.build_model(cfg, schema)


def run_garden(args, folder):
    schema = Schema.load(folder)
    # --mixed_precision=bfloat16: the garden's mixed_bfloat16 (tables and optimizer state stay
    # float32), as garden.train sets it; peers always run float32.
    distribute.set_precision(args.mixed_precision)

    def build():
        cfg, model = garden_model(args.model, schema)
        # The garden's "adam": Keras Adam's update through the fused kernel.
        model.compile(optimizers.make("adam", learning_rate(args)),
                      steps_per_execution=cfg.train.steps_per_execution,
                      jit_compile=cfg.train.jit_compile)
        return model, cfg.train.steps_per_execution

    if args.data == "retrieval":
        def scores(model, test):
            return np.concatenate([model.scores(f).numpy() for f, _ in test])
    else:
        def scores(model, test):
            return np.concatenate([model.predict_proba(f).numpy() for f, _ in test])
    model, _ = build()
    features = model.training_features
    result = measure(args, folder, schema, build, lambda ds: ds, scores, features)
    if args.quality_only:
        return result
    result["input_examples_per_second"], result["input_setup_seconds"] = input_rate(
        args, folder, schema, features)
    result["dense_flops_per_example"] = dense_training_flops(model, schema, folder)
    result["matmul_flops_per_second"] = matmul_peak()
    return result


def in_memory(folder):
    """Whether garden.train (default data.in_memory_mb) would hold this training split in
    memory; both frameworks then read it from there."""
    return fits_in_memory(os.path.join(folder, "train-*"), config.DataConfig().in_memory_mb)


def input_rate(args, folder, schema, features):
    """The garden's input pipeline alone, as garden.train runs it (only the model's features
    parsed; a split that fits held in memory, loaded before the clock starts), over as many
    batches as the timed training."""
    load = time.perf_counter()
    ds = make_dataset(schema, os.path.join(folder, "train-*"), args.batch_size, training=True,
                      seed=1, repeat=True, features=features, in_memory=in_memory(folder))
    load = time.perf_counter() - load  # parsing the split into memory, when it is held there
    iterator = iter(ds)
    for _ in range(args.warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(args.steps):
        next(iterator)
    return args.steps * args.batch_size / (time.perf_counter() - start), load


def dense_training_flops(model, schema, folder):
    """Training FLOPs per example of the model's dense (matmul) kernels: 2 x inputs x outputs
    forward per kernel, x3 for forward + backward. Embedding lookups, attention over sequence
    positions and element-wise ops are not counted, so this is a floor for models that are
    not MLP-heavy."""
    features, _ = next(iter(make_dataset(schema, os.path.join(folder, "test-*"), 2,
                                         training=False)))
    model(features)
    kernels = [v for v in model.trainable_variables
               if v.shape.rank == 2 and "kernel" in v.name]
    return 3 * sum(2 * int(v.shape[0]) * int(v.shape[1]) for v in kernels)


def matmul_peak(n=1024, repeats=30):
    """float32 FLOP/s of tf.matmul on this machine (best of 3)."""
    a = tf.random.normal([n, n])

    @tf.function
    def chain(x):
        for _ in range(repeats):
            x = tf.matmul(x, a) * 1e-3
        return x
    chain(a).numpy()
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        chain(a).numpy()
        best = max(best, 2 * n ** 3 * repeats / (time.perf_counter() - start))
    return best


def learning_rate(args):
    return RETRIEVAL_LEARNING_RATE if args.data == "retrieval" else LEARNING_RATE


def measure(args, folder, schema, build, adapt, scores, features):
    """Throughput over timed steps, then (if --epochs) the test quality of a fresh model after
    that many epochs; `adapt` maps the garden's batches to the framework's inputs and
    `scores(model, test_batches)` returns click probabilities [N] (ranking) or the scores of
    every item [N, num_items] (retrieval). Both frameworks read the garden's input pipeline,
    parsing only `features`, those their model reads, from memory when garden.train would."""
    train = adapt(make_dataset(schema, os.path.join(folder, "train-*"), args.batch_size,
                               training=True, seed=args.seed, repeat=True, features=features,
                               in_memory=in_memory(folder)))
    result = {}
    if not args.quality_only:
        model, per_call = build()
        steps = args.warmup + args.steps
        steps -= steps % per_call  # whole tf.function calls only
        timer = StepTimer(args.warmup)
        model.fit(train, epochs=1, steps_per_epoch=steps, callbacks=[timer], verbose=0)
        result["examples_per_second"] = timer.timed_steps * args.batch_size / timer.seconds
        result["examples_per_cpu_second"] = (timer.timed_steps * args.batch_size
                                             / timer.cpu_seconds)
    if args.epochs:
        model, _ = build()
        epoch = -(-count_records(os.path.join(folder, "train-*")) // args.batch_size)
        model.fit(train, epochs=args.epochs, steps_per_epoch=epoch, verbose=0)
        test = list(make_dataset(schema, os.path.join(folder, "test-*"), 1024, training=False))
        predicted = scores(model, test)
        if args.data == "retrieval":
            targets = np.concatenate([f["item_id"].numpy() for f, _ in test])
            result["quality"] = hit_rate(predicted, targets, HR_AT)
        else:
            labels = np.concatenate([l["click"].numpy() for _, l in test])
            result["quality"] = metrics_lib.auc(labels, predicted)
    return result


def hit_rate(scores, targets, k):
    """Share of queries whose target is among the k best-scored items, item 0 (padding) left
    out and ties counted against the target (the same rule for both frameworks)."""
    scores = scores.astype(np.float64)
    scores[:, 0] = -np.inf
    target_scores = scores[np.arange(len(targets)), targets]
    better = (scores >= target_scores[:, None]).sum(axis=1) - 1
    return float(np.mean(better < k))


# ------------------------------------------------------------------------------ DeepCTR side
def deepctr_model(model_name, schema, seed=1):
    """DeepCTR's model with its own initializers, which take explicit seeds (the global seed
    does not reach them): run `seed` gives the model seed 1023 + seed (1024, DeepCTR's
    default, for the first run) and each table its own seed for DeepCTR's N(0, 1e-4)."""
    from deepctr import feature_column as fc
    from deepctr import models
    sparse = [fc.SparseFeat(s.name, schema.vocab_size(s.name), EMBEDDING_DIM,
                            embeddings_initializer=tf.keras.initializers.RandomNormal(
                                0.0, 1e-4, seed=2020 + 1000 * (seed - 1) + i))
              for i, s in enumerate(schema.of_kind("sparse"))]
    dense = [fc.DenseFeat(s.name, s.dim) for s in schema.of_kind("dense")]
    columns = sparse + dense
    # Behaviour sequences (DIN only): DeepCTR names them hist_<feature> and embeds them with
    # that feature's table, as the garden's schema does.
    sequences = [fc.VarLenSparseFeat(
        fc.SparseFeat(s.name, schema.vocab_size(s.name), EMBEDDING_DIM,
                      embedding_name=s.shared_with), maxlen=s.max_len, length_name=f"{s.name}_len")
        for s in schema.of_kind("sequence") if s.name.startswith("hist_") and s.shared_with]
    common = dict(dnn_hidden_units=tuple(HIDDEN), l2_reg_embedding=0.0, task="binary",
                  seed=1023 + seed)
    builders = {
        "deepfm": lambda: models.DeepFM(columns, columns, **common),
        "dcn": lambda: models.DCN(columns, columns, cross_num=2, **common),
        "xdeepfm": lambda: models.xDeepFM(columns, columns, **common),
        "fibinet": lambda: models.FiBiNET(columns, columns, **common),
        "autoint": lambda: models.AutoInt(columns, columns, **common),
        "din": lambda: models.DIN(columns + sequences, [s.embedding_name for s in sequences],
                                  **common),
    }
    if model_name not in builders:
        raise SystemExit(f"--vs=deepctr has no {model_name!r}; it has {sorted(builders)}")
    return builders[model_name]()


def as_peer_inputs(features, labels):
    """DeepCTR's inputs are [B, 1] per feature; sequences and their lengths pass as they are."""
    out = {k: tf.reshape(v, [-1, 1]) if v.shape.rank == 1 else v for k, v in features.items()}
    return out, labels["click"]


def run_deepctr(args, folder):
    schema = Schema.load(folder)

    def build():
        model = deepctr_model(args.model, schema, args.seed)
        model.compile(tf.keras.optimizers.Adam(LEARNING_RATE), "binary_crossentropy")
        return model, 1

    def scores(model, test):
        return np.concatenate([model(as_peer_inputs(f, l)[0], training=False).numpy()[:, 0]
                               for f, l in test])

    names = {i.name for i in deepctr_model(args.model, schema).inputs}
    features = [f.name for f in schema if f.name in names]
    return measure(args, folder, schema, build, lambda ds: ds.map(as_peer_inputs), scores,
                   features)


# ---------------------------------------------------------------------------- DeepMatch side
SIDE_INFO = ["item_id", "cat_id", "brand_id", "shop_id"]
USER_FEATURES = ["user_id", "age", "gender", "city"]


def deepmatch_model(model_name, schema, item_counts):
    """DeepMatch's SDM / YouTubeDNN on the synthetic retrieval data, sized like the garden's:
    same embedding size, one RNN layer of that width and the same number of heads for SDM,
    the same hidden units for YouTubeDNN, 200 sampled negatives. DeepMatch's own choices stay
    (L2-normalized vectors, temperature 0.05, item-frequency sampler)."""
    from deepctr.feature_column import SparseFeat, VarLenSparseFeat
    from deepmatch import models
    from deepmatch.utils import NegativeSampler
    d = RETRIEVAL_EMBEDDING_DIM
    users = [SparseFeat(n, schema.vocab_size(n), d) for n in USER_FEATURES]
    items = [SparseFeat("item_id", schema.vocab_size("item_id"), d)]
    sampler = NegativeSampler("frequency", num_sampled=NUM_SAMPLED, item_name="item_id",
                              item_count=item_counts)
    patch_deepmatch()
    if model_name == "sdm":
        sequences = []
        for prefix, ours in (("short", "short"), ("prefer", "long")):
            sequences += [VarLenSparseFeat(
                SparseFeat(f"{prefix}_{n}", schema.vocab_size(n), d, embedding_name=n),
                maxlen=schema[f"{ours}_{n}"].max_len, length_name=f"{prefix}_sess_length")
                for n in SIDE_INFO]
        return models.SDM(users + sequences, items, SIDE_INFO, units=d, rnn_layers=1,
                          dropout_rate=0.0, num_head=2, sampler_config=sampler)
    if model_name == "youtube_dnn":
        history = VarLenSparseFeat(
            SparseFeat("hist_item_id", schema.vocab_size("item_id"), d, embedding_name="item_id"),
            maxlen=schema["hist_item_id"].max_len, combiner="mean", length_name="hist_len")
        return models.YoutubeDNN(users + [history], items,
                                 user_dnn_hidden_units=tuple(HIDDEN) + (d,),
                                 sampler_config=sampler)
    raise SystemExit(f"--vs=deepmatch has no {model_name!r}; it has ['sdm', 'youtube_dnn']")


class KerasLSTMForDeepMatch(tf.keras.layers.Layer):
    """Stands in for DeepMatch's DynamicMultiRNN, which calls TF1's `dynamic_rnn` with legacy
    cells and fails to build under TF 2.21 ("tf.device does not support functions when eager
    execution is enabled"). The same computation for SDM's one-layer, no-dropout setting:
    LSTM cells of `num_units` over the session, steps past its length masked (DeepMatch's
    self-attention masks them too); a residual connection when DeepMatch would add one."""

    def __init__(self, num_units, return_sequence=True, num_layers=1, num_residual_layers=0,
                 dropout_rate=0.0, **kwargs):
        kwargs.pop("rnn_type", None)
        kwargs.pop("forget_bias", None)
        super().__init__(**kwargs)
        if num_layers != 1 or dropout_rate or not return_sequence:
            raise SystemExit("the DeepMatch SDM benchmark supports one RNN layer, no dropout")
        self.residual = num_residual_layers >= 1
        self.lstm = tf.keras.layers.LSTM(num_units, return_sequences=True)

    def call(self, inputs):
        sequence, length = inputs
        mask = tf.sequence_mask(tf.reshape(length, [-1]), tf.shape(sequence)[1])
        out = self.lstm(sequence, mask=mask)
        return out + sequence if self.residual else out


def item_embedding_for_deepmatch(item_embedding, item_input):
    """DeepMatch's get_item_embedding (used only to read item vectors out after training)
    closes a Lambda over a Keras tensor, which tf-keras 2.21 rejects; the same gather with
    both tensors as the Lambda's inputs."""
    return tf.keras.layers.Lambda(lambda xs: tf.squeeze(tf.gather(xs[0], xs[1]), axis=1))(
        [item_embedding, item_input])


def patch_deepmatch():
    import deepmatch.models.sdm
    import deepmatch.models.youtubednn
    deepmatch.models.sdm.DynamicMultiRNN = KerasLSTMForDeepMatch
    for module in (deepmatch.models.sdm, deepmatch.models.youtubednn):
        module.get_item_embedding = item_embedding_for_deepmatch


def deepmatch_features(model_name):
    """The features DeepMatch's model reads (the garden's names)."""
    if model_name == "sdm":
        return USER_FEATURES + ["item_id"] + [f"{g}_{n}" for g in ("short", "long")
                                              for n in SIDE_INFO]
    return USER_FEATURES + ["item_id", "hist_item_id"]


def as_deepmatch_inputs(features, labels):
    """DeepMatch names the long-term sequence `prefer_*`, takes one length per sequence group
    and [B, 1] scalars; its loss is the model output itself (targets are ignored). Only the
    sequences that were parsed (deepmatch_features) are passed on."""
    out = {n: tf.reshape(features[n], [-1, 1]) for n in USER_FEATURES}
    out["item_id"] = tf.reshape(features["item_id"], [-1, 1])
    if "short_item_id" in features:
        for prefix, ours in (("short", "short"), ("prefer", "long")):
            for n in SIDE_INFO:
                out[f"{prefix}_{n}"] = features[f"{ours}_{n}"]
            out[f"{prefix}_sess_length"] = tf.reshape(features[f"{ours}_item_id_len"], [-1, 1])
    if "hist_item_id" in features:
        out["hist_item_id"] = features["hist_item_id"]
        out["hist_len"] = tf.reshape(features["hist_item_id_len"], [-1, 1])
    return out, tf.zeros_like(features["item_id"], tf.float32)


def run_deepmatch(args, folder):
    from deepmatch.utils import sampledsoftmaxloss
    schema = Schema.load(folder)
    counts = np.zeros(schema.vocab_size("item_id"), np.int64)
    for features, _ in make_dataset(schema, os.path.join(folder, "train-*"), 8192,
                                    training=False):
        counts += np.bincount(features["item_id"].numpy(), minlength=len(counts))

    def build():
        model = deepmatch_model(args.model, schema, counts.tolist())
        model.compile(tf.keras.optimizers.Adam(RETRIEVAL_LEARNING_RATE), sampledsoftmaxloss)
        return model, 1

    def inputs_of(model, batch):
        return {i.name: batch[i.name] for i in model.user_input}

    def scores(model, test):
        user_model = tf.keras.Model(model.user_input, model.user_embedding)
        item_model = tf.keras.Model(model.item_input, model.item_embedding)
        item_vectors = item_model.predict(np.arange(len(counts))[:, None], batch_size=8192,
                                          verbose=0)
        queries = [user_model(inputs_of(model, as_deepmatch_inputs(f, l)[0])).numpy()
                   for f, l in test]
        return np.concatenate(queries).reshape(-1, item_vectors.shape[1]) @ item_vectors.T

    return measure(args, folder, schema, build, lambda ds: ds.map(as_deepmatch_inputs), scores,
                   deepmatch_features(args.model))


RUNNERS = {"garden": run_garden, "deepctr": run_deepctr, "deepmatch": run_deepmatch}


def run_in_subprocess(framework, argv):
    out = subprocess.run([sys.executable, __file__, f"--worker={framework}", *argv],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{framework} run failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def quality_summary(values):
    """"0.7603" for one run; "0.7603 +- 0.0021 (sd of 3 runs: 0.7581 0.7610 0.7618)" for more."""
    if len(values) == 1:
        return f"{values[0]:.4f}"
    runs = " ".join(f"{v:.4f}" for v in values)
    return (f"{statistics.mean(values):.4f} +- {statistics.stdev(values):.4f} "
            f"(sd of {len(values)} runs: {runs})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="deepfm")
    parser.add_argument("--data", default="criteo", choices=["criteo", "sequence", "retrieval"])
    parser.add_argument("--num_examples", type=int, default=300_000)
    parser.add_argument("--vs", default="", choices=["", "deepctr", "deepmatch"])
    parser.add_argument("--batch_size", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1, help="0: throughput only")
    parser.add_argument("--mixed_precision", default="float32", choices=["float32", "bfloat16"],
                        help="the garden side's precision (peers stay float32)")
    parser.add_argument("--quality_runs", type=int, default=1,
                        help="fresh models trained per framework for the quality (mean +- sd)")
    parser.add_argument("--worker", default="", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--quality_only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = data_dir(args.data, args.num_examples)
    if args.worker:
        tf.keras.utils.set_random_seed(args.seed)  # model initializers and dropout
        print(json.dumps(RUNNERS[args.worker](args, folder)))
        return
    if args.quality_runs < 1:
        raise SystemExit(f"--quality_runs must be >= 1, got {args.quality_runs}")
    argv = [a for a in sys.argv[1:] if not a.startswith(("--vs", "--quality_runs"))]
    frameworks = ["garden"] + ([args.vs] if args.vs else [])
    speed = {f: [] for f in frameworks}
    quality, extra_info = {}, {}
    for repeat in range(args.repeats):
        for framework in frameworks:
            # Quality once (first repeat); throughput every repeat.
            extra = [] if repeat == 0 else ["--epochs=0"]
            result = run_in_subprocess(framework, argv + extra)
            speed[framework].append(result["examples_per_second"])
            extra_info.setdefault(f"{framework}_cpu", []).append(result["examples_per_cpu_second"])
            if framework == "garden":
                for key in ("input_examples_per_second", "input_setup_seconds",
                            "dense_flops_per_example",
                            "matmul_flops_per_second"):
                    extra_info.setdefault(key, []).append(result[key])
            if repeat == 0 and args.epochs:
                quality[framework] = [result["quality"]]
            print(f"  {framework:<8} run {repeat + 1}: {result['examples_per_second']:,.0f} "
                  "examples/s", flush=True)
    if args.epochs:
        # More quality runs: fresh models, seeds 2..N (model init and shuffle), alternating.
        for seed in range(2, args.quality_runs + 1):
            for framework in frameworks:
                result = run_in_subprocess(framework, argv + [f"--seed={seed}", "--quality_only"])
                quality[framework].append(result["quality"])
                print(f"  {framework:<8} quality run {seed}: {result['quality']:.4f}", flush=True)
    print(f"{args.model} on {args.data} ({folder}), batch {args.batch_size}, {args.steps} timed "
          f"steps after {args.warmup}, {os.cpu_count()} CPUs")
    metric = f"HR@{HR_AT}" if args.data == "retrieval" else "AUC"
    if args.mixed_precision != "float32":
        print(f"garden in mixed_{args.mixed_precision} (a different setting from the float32 "
              f"peer: its numbers are not a float32 comparison)")
    for framework in frameworks:
        print(f"{framework:<9} {statistics.median(speed[framework]):>10,.0f} examples/s"
              + (f"   {metric} after {args.epochs} epoch(s): "
                 f"{quality_summary(quality[framework])}" if args.epochs else ""))
    garden_rate = statistics.median(speed["garden"])
    input_rate_ = statistics.median(extra_info["input_examples_per_second"])
    print(f"input pipeline alone: {input_rate_:,.0f} examples/s "
          f"({input_rate_ / garden_rate:.1f}x what garden training consumes; "
          f"{'in memory' if in_memory(folder) else 'streamed'}, set up in "
          f"{statistics.median(extra_info['input_setup_seconds']):.1f} s)")
    flops = extra_info["dense_flops_per_example"][0]
    peak = statistics.median(extra_info["matmul_flops_per_second"])
    print(f"dense-layer training FLOPs/example: {flops:,}; x examples/s = "
          f"{flops * garden_rate / 1e9:.2f} GFLOP/s = {flops * garden_rate / peak:.1%} of the "
          f"measured float32 matmul peak ({peak / 1e9:.1f} GFLOP/s)")
    if args.vs:
        ratio = garden_rate / statistics.median(speed[args.vs])
        print(f"ratio garden/{args.vs}: {ratio:.2f}")
        cpu = [statistics.median(extra_info[f"{f}_cpu"]) for f in ("garden", args.vs)]
        print(f"per CPU second: garden {cpu[0]:,.0f}, {args.vs} {cpu[1]:,.0f} examples; "
              f"ratio {cpu[0] / cpu[1]:.2f}")


if __name__ == "__main__":
    main()
