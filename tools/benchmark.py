"""Training throughput of a garden model, alone or against the same model in DeepCTR/DeepMatch.

    python tools/benchmark.py --model=deepfm [--data=criteo] [--vs=deepctr]
        [--batch_size=1024] [--steps=300] [--repeats=3] [--epochs=1]

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
match). Peers are optional and installed without their dependencies, as their pins predate
TF 2.21: `pip install --no-deps deepctr==0.9.4 deepmatch==0.3.2 && pip install h5py requests`.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import garden  # noqa: F401  (Keras 2 before TensorFlow loads)
import tensorflow as tf  # noqa: E402

from garden import config, data, optimizers, registry  # noqa: E402
from garden import metrics as metrics_lib  # noqa: E402
from input.reader import count_records, make_dataset  # noqa: E402
from input.specs import FeatureSpec, Schema  # noqa: E402
from input.writer import write_tfrecords  # noqa: E402

# Cardinalities shaped like Criteo's 26 categorical fields (large ones capped at 200,000).
CRITEO_VOCABS = [1460, 583, 200000, 150000, 305, 24, 12517, 633, 3, 93145, 5683, 180000, 3194,
                 27, 14992, 170000, 10, 5652, 2173, 4, 160000, 18, 15, 100000, 105, 82000]
HIDDEN = [256, 128]
EMBEDDING_DIM = 16
LEARNING_RATE = 1e-3


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

    def on_train_end(self, logs=None):
        self.seconds = time.perf_counter() - self.start
        self.timed_steps = self.steps - self.start_step


# ----------------------------------------------------------------------------- garden side
def garden_model(model_name, schema):
    overrides = {"model.embedding_dim": EMBEDDING_DIM}
    entry = registry.get_model(model_name)
    fields = {f.name for f in __import__("dataclasses").fields(entry.config)}
    if "hidden_units" in fields:
        overrides["model.hidden_units"] = HIDDEN
    if "l2_embedding" in fields:
        overrides["model.l2_embedding"] = 0.0  # DeepCTR's is turned off the same way
    cfg = config.resolve(model_name, overrides=overrides)
    if entry.task == "ranking" and "click" in schema:
        cfg.task.label = "click"
    return cfg, registry.build_model(cfg, schema)


def run_garden(args, folder):
    schema = Schema.load(folder)

    def build():
        cfg, model = garden_model(args.model, schema)
        # The garden's "adam": Keras Adam's update through the fused kernel.
        model.compile(optimizers.make("adam", LEARNING_RATE),
                      steps_per_execution=cfg.train.steps_per_execution)
        return model, cfg.train.steps_per_execution

    result = measure(args, folder, schema, build, lambda ds: ds,
                     lambda model, features: model.predict_proba(features).numpy())
    result["input_examples_per_second"] = input_rate(args, folder, schema)
    model, _ = build()
    result["dense_flops_per_example"] = dense_training_flops(model, schema, folder)
    result["matmul_flops_per_second"] = matmul_peak()
    return result


def input_rate(args, folder, schema):
    """The garden's input pipeline alone, over as many batches as the timed training."""
    ds = make_dataset(schema, os.path.join(folder, "train-*"), args.batch_size, training=True,
                      seed=1, repeat=True)
    iterator = iter(ds)
    for _ in range(args.warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(args.steps):
        next(iterator)
    return args.steps * args.batch_size / (time.perf_counter() - start)


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


def measure(args, folder, schema, build, adapt, predict):
    """Throughput over timed steps, then (if --epochs) test AUC of a fresh model after that
    many epochs; `adapt` maps the garden's batches to the framework's inputs."""
    train = adapt(make_dataset(schema, os.path.join(folder, "train-*"), args.batch_size,
                               training=True, seed=1, repeat=True))
    model, per_call = build()
    steps = args.warmup + args.steps
    steps -= steps % per_call  # whole tf.function calls only
    timer = StepTimer(args.warmup)
    model.fit(train, epochs=1, steps_per_epoch=steps, callbacks=[timer], verbose=0)
    result = {"examples_per_second": timer.timed_steps * args.batch_size / timer.seconds}
    if args.epochs:
        model, _ = build()
        epoch = -(-count_records(os.path.join(folder, "train-*")) // args.batch_size)
        model.fit(train, epochs=args.epochs, steps_per_epoch=epoch, verbose=0)
        test = make_dataset(schema, os.path.join(folder, "test-*"), 4096, training=False)
        scores = np.concatenate([predict(model, adapt_batch(adapt, f, l)) for f, l in test])
        labels = np.concatenate([l["click"].numpy() for _, l in test])
        result["auc"] = metrics_lib.auc(labels, scores)
    return result


def adapt_batch(adapt, features, labels):
    """The framework's inputs for one evaluation batch."""
    adapted = adapt(tf.data.Dataset.from_tensors((features, labels)))
    return next(iter(adapted))[0]


# ------------------------------------------------------------------------------ DeepCTR side
def deepctr_model(model_name, schema):
    from deepctr import feature_column as fc
    from deepctr import models
    sparse = [fc.SparseFeat(s.name, schema.vocab_size(s.name), EMBEDDING_DIM)
              for s in schema.of_kind("sparse")]
    dense = [fc.DenseFeat(s.name, s.dim) for s in schema.of_kind("dense")]
    columns = sparse + dense
    common = dict(dnn_hidden_units=tuple(HIDDEN), l2_reg_embedding=0.0, task="binary")
    builders = {
        "deepfm": lambda: models.DeepFM(columns, columns, **common),
        "dcn": lambda: models.DCN(columns, columns, cross_num=2, **common),
        "xdeepfm": lambda: models.xDeepFM(columns, columns, **common),
        "fibinet": lambda: models.FiBiNET(columns, columns, **common),
        "autoint": lambda: models.AutoInt(columns, columns, **common),
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
        model = deepctr_model(args.model, schema)
        model.compile(tf.keras.optimizers.Adam(LEARNING_RATE), "binary_crossentropy")
        return model, 1

    return measure(args, folder, schema, build, lambda ds: ds.map(as_peer_inputs),
                   lambda model, inputs: model(inputs, training=False).numpy()[:, 0])


RUNNERS = {"garden": run_garden, "deepctr": run_deepctr}


def run_in_subprocess(framework, argv):
    out = subprocess.run([sys.executable, __file__, f"--worker={framework}", *argv],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{framework} run failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="deepfm")
    parser.add_argument("--data", default="criteo", choices=["criteo", "sequence", "retrieval"])
    parser.add_argument("--num_examples", type=int, default=300_000)
    parser.add_argument("--vs", default="", choices=["", "deepctr"])
    parser.add_argument("--batch_size", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1, help="0: throughput only")
    parser.add_argument("--worker", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = data_dir(args.data, args.num_examples)
    if args.worker:
        print(json.dumps(RUNNERS[args.worker](args, folder)))
        return
    argv = [a for a in sys.argv[1:] if not a.startswith("--vs")]
    frameworks = ["garden"] + ([args.vs] if args.vs else [])
    speed = {f: [] for f in frameworks}
    quality, extra_info = {}, {}
    for repeat in range(args.repeats):
        for framework in frameworks:
            # Quality once (first repeat); throughput every repeat.
            extra = [] if repeat == 0 else ["--epochs=0"]
            result = run_in_subprocess(framework, argv + extra)
            speed[framework].append(result["examples_per_second"])
            if framework == "garden":
                for key in ("input_examples_per_second", "dense_flops_per_example",
                            "matmul_flops_per_second"):
                    extra_info.setdefault(key, []).append(result[key])
            quality.setdefault(framework, result.get("auc"))
            print(f"  {framework:<8} run {repeat + 1}: {result['examples_per_second']:,.0f} "
                  "examples/s", flush=True)
    print(f"{args.model} on {args.data} ({folder}), batch {args.batch_size}, {args.steps} timed "
          f"steps after {args.warmup}, {os.cpu_count()} CPUs")
    for framework in frameworks:
        auc = quality[framework]
        print(f"{framework:<8} {statistics.median(speed[framework]):>10,.0f} examples/s"
              + (f"   AUC after {args.epochs} epoch(s): {auc:.4f}" if auc is not None else ""))
    garden_rate = statistics.median(speed["garden"])
    input_rate_ = statistics.median(extra_info["input_examples_per_second"])
    print(f"input pipeline alone: {input_rate_:,.0f} examples/s "
          f"({input_rate_ / garden_rate:.1f}x what garden training consumes)")
    flops = extra_info["dense_flops_per_example"][0]
    peak = statistics.median(extra_info["matmul_flops_per_second"])
    print(f"dense-layer training FLOPs/example: {flops:,}; x examples/s = "
          f"{flops * garden_rate / 1e9:.2f} GFLOP/s = {flops * garden_rate / peak:.1%} of the "
          f"measured float32 matmul peak ({peak / 1e9:.1f} GFLOP/s)")
    if args.vs:
        ratio = garden_rate / statistics.median(speed[args.vs])
        print(f"ratio garden/{args.vs}: {ratio:.2f}")


if __name__ == "__main__":
    main()
