"""Trains a registered model, then evaluates and exports it.

    python -m garden.train --model=sdm [--experiment=..] [--data_dir=..] [--model_dir=..]
        [--epochs=..] [--batch_size=..] [--params_override=model.embedding_dim=32,..]

Without --data_dir it trains on the synthetic world (generated once, then cached); without
--model_dir it picks a fresh folder under ./runs and prints it. The model folder receives
config.yaml (the resolved config), TensorBoard events (train/, eval/, embeddings/),
checkpoints/, metrics.json, embeddings/ (projector files, health plots; see
garden/check_embeddings.py), calibration.json and reliability.png with --calibrate, and
export/<model>/<version>/.
"""
import json
import os
import sys
import tempfile
import time

from absl import app, flags, logging

import garden  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import tensorflow as tf  # noqa: E402

from garden import config as config_lib  # noqa: E402
from garden import calibration, check_embeddings  # noqa: E402
from garden import data, distribute, evaluate, export, optimizers, registry  # noqa: E402
from input.atomic import atomic_write_text  # noqa: E402
from input.reader import count_records, list_files, make_dataset, validate_files  # noqa: E402
from input.specs import Schema  # noqa: E402


class Progress(tf.keras.callbacks.Callback):
    """Per epoch: examples/second to TensorBoard and a printed line. Epoch-level hooks only,
    so it also runs under ParameterServerStrategy (which has no batch-level callbacks)."""

    def __init__(self, log_dir, batch_size, steps_per_epoch, log=print):
        super().__init__()
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "train"))
        self.batch_size, self.steps_per_epoch, self.log = batch_size, steps_per_epoch, log
        self.rates = []
        self.steady_start = None  # (global step, time) from which steady_rate() counts
        self.train_end = None

    def on_train_begin(self, logs=None):
        self.train_start = (None, time.time())  # the step is known at the first epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.epoch_start = epoch, time.time()
        if self.train_start[0] is None:
            self.train_start = (epoch * self.steps_per_epoch, self.train_start[1])

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.time() - self.epoch_start
        rate = self.steps_per_epoch * self.batch_size / max(seconds, 1e-9)
        self.rates.append(rate)
        with self.writer.as_default():
            tf.summary.scalar("epoch_examples_per_second", rate, step=epoch)
        self.writer.flush()
        metrics = "  ".join(f"{k} {float(v):.4f}" for k, v in (logs or {}).items())
        self.log(f"epoch {epoch + 1} done in {seconds:.1f}s  {metrics}  {rate:,.0f} ex/s")
        self.train_end = ((epoch + 1) * self.steps_per_epoch, time.time())

    def steady_rate(self):
        """Training examples/second, after tracing and the shuffle buffer's first fill where
        the run logged enough steps to leave them out; else over the whole run."""
        if self.train_end is None:
            return None
        start = self.steady_start if self.steady_start and \
            self.train_end[0] > self.steady_start[0] else self.train_start
        steps, seconds = self.train_end[0] - start[0], self.train_end[1] - start[1]
        return steps * self.batch_size / seconds if steps > 0 and seconds > 0 else None


class StepProgress(Progress):
    """Progress plus, every `every` steps, an examples/second point in TensorBoard and (when
    stdout is not a terminal, where Keras draws its own bar) a printed line."""

    def __init__(self, log_dir, batch_size, steps_per_epoch, every, print_lines, log=print):
        super().__init__(log_dir, batch_size, steps_per_epoch, log)
        self.every, self.print_lines = every, print_lines
        self.last_logged = None

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        if self.last_logged is None:
            self.last_logged = (epoch * self.steps_per_epoch, time.time())

    def on_train_batch_end(self, batch, logs=None):
        step = self.epoch * self.steps_per_epoch + batch + 1
        if step - self.last_logged[0] < self.every:
            return
        now = time.time()
        rate = (step - self.last_logged[0]) * self.batch_size / max(now - self.last_logged[1],
                                                                    1e-9)
        with self.writer.as_default():
            tf.summary.scalar("examples_per_second", rate, step=step)
        if self.print_lines:
            metrics = "  ".join(f"{k} {float(v):.4f}" for k, v in (logs or {}).items())
            self.log(f"epoch {self.epoch + 1} step {step}  {metrics}  {rate:,.0f} ex/s")
        self.last_logged = (step, now)
        if self.steady_start is None:
            self.steady_start = (step, now)


class EpochCheckpoint(tf.keras.callbacks.Callback):
    """Saves model, optimizer and the number of finished epochs after every epoch."""

    def __init__(self, manager, epoch_var):
        super().__init__()
        self.manager, self.epoch_var = manager, epoch_var

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_var.assign(epoch + 1)
        self.manager.save(checkpoint_number=epoch + 1)


def default_model_dir(model_name):
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = os.path.join("runs", f"{model_name}-{stamp}")
    path, n = base, 1
    while os.path.exists(path):
        n += 1
        path = f"{base}-{n}"
    return path


def training_data(schema, pattern, cfg, strategy, global_batch):
    """(dataset, steps per epoch). The dataset repeats and Keras runs a fixed number of steps
    per epoch: with several workers each reads its own files, and a fixed step count keeps
    them in lockstep whatever the shard sizes."""
    validate_files(schema, list_files(pattern))
    steps = -(-count_records(pattern) // global_batch)
    options = dict(training=True, shuffle_buffer=cfg.data.shuffle_buffer, repeat=True,
                   validate=False)
    if distribute.is_parameter_server(strategy):
        # Each worker builds its own pipeline; unseeded, so workers read different orders.
        return tf.keras.utils.experimental.DatasetCreator(
            lambda context: make_dataset(schema, pattern, global_batch, **options)), steps
    return make_dataset(schema, pattern, global_batch, seed=cfg.train.seed, **options), steps


def train(cfg, model_dir, log=print, strategy=None):
    """Trains, evaluates and exports; returns the contents of metrics.json.

    strategy: a tf.distribute.Strategy to use instead of the one cfg.train.strategy names (for
    in-process clusters). Under multi-worker training only the chief evaluates, exports and
    writes; other workers return None after training.
    """
    tf.keras.utils.set_random_seed(cfg.train.seed)
    distribute.set_precision(cfg.train.mixed_precision)
    strategy = strategy or distribute.make_strategy(cfg.train.strategy, cfg.train.tpu)
    chief = distribute.is_chief(strategy)
    replicas = distribute.num_replicas(strategy)
    global_batch = cfg.train.batch_size * replicas
    learning_rate = cfg.train.learning_rate
    if cfg.train.scale_learning_rate and not distribute.is_parameter_server(strategy):
        learning_rate *= replicas
    task = registry.get_model(cfg.model_name).task
    data_dir = data.task_data_dir(cfg.data, task, log)
    schema = Schema.load(data_dir)
    # Non-chief workers write their (required) checkpoints and summaries to a scratch folder.
    out_dir = model_dir if chief else tempfile.mkdtemp(prefix="garden-worker-")
    os.makedirs(out_dir, exist_ok=True)
    if chief:
        config_lib.save(cfg, os.path.join(model_dir, "config.yaml"))
    train_data, steps = training_data(schema, os.path.join(data_dir, cfg.data.train_pattern),
                                      cfg, strategy, global_batch)

    with strategy.scope():
        model = registry.build_model(cfg, schema)
        model.prepare(os.path.join(data_dir, cfg.data.train_pattern))
        optimizer = optimizers.make(cfg.train.optimizer, learning_rate)
        model.compile(optimizer=optimizer, steps_per_execution=cfg.train.steps_per_execution)
        epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch_var)
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(out_dir, "checkpoints"),
                                         max_to_keep=3)
    latest = tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
    if chief and not latest and cfg.train.strategy == "one_device":
        # The initial item tables, for the embedding check's "rows never updated". Only on a
        # single device: building before fit under a cluster strategy is not symmetric.
        with strategy.scope():
            evaluate.build_with_batch(model, schema, os.path.join(data_dir,
                                                                  cfg.data.eval_pattern))
        check_embeddings.save_initial_tables(model, cfg.task.item, model_dir)
    if latest:
        checkpoint.restore(latest)
        log(f"Resumed from {latest} (epoch {int(epoch_var.numpy())})")
    initial_epoch = int(epoch_var.numpy())

    interactive = sys.stdout.isatty()
    parameter_server = distribute.is_parameter_server(strategy)
    if parameter_server:  # no batch-level callbacks under ParameterServerStrategy
        progress = Progress(out_dir, global_batch, steps, log=log)
    else:
        progress = StepProgress(out_dir, global_batch, steps, cfg.train.log_every_steps,
                                print_lines=chief and not interactive, log=log)
    callbacks = [progress, EpochCheckpoint(manager, epoch_var)]
    if chief:
        callbacks.append(tf.keras.callbacks.TensorBoard(
            model_dir, update_freq="epoch" if parameter_server else cfg.train.log_every_steps,
            write_graph=False, profile_batch=0))
    log(f"Training {cfg.model_name} ({task}) on {data_dir} -> {model_dir} "
        f"[{cfg.train.strategy}: {replicas} replica(s), global batch {global_batch}, "
        f"learning rate {learning_rate:g}, {cfg.train.mixed_precision}]")
    start = time.time()
    if initial_epoch < cfg.train.epochs:
        model.fit(train_data, epochs=cfg.train.epochs, initial_epoch=initial_epoch,
                  steps_per_epoch=steps, callbacks=callbacks,
                  verbose=1 if interactive and chief else 0)
    train_seconds = time.time() - start
    if not chief:
        return None

    # Evaluate and export a plain single-device copy restored from the last checkpoint: the
    # same path whatever the training strategy (sharded or mirrored variables included), and
    # a proof that the checkpoint restores outside it.
    _, _, _, model = evaluate.load_trained(model_dir, log)
    values = evaluate.evaluate(model, schema, cfg, data_dir)
    log(f"Evaluation on {os.path.join(data_dir, cfg.data.eval_pattern)}:")
    log(evaluate.format_metrics(values))
    writer = tf.summary.create_file_writer(os.path.join(model_dir, "eval"))
    with writer.as_default():
        for key, value in values.items():
            tf.summary.scalar(key.replace("@", "_at_"), value, step=cfg.train.epochs)
    writer.flush()
    extra = after_training(cfg, model, schema, data_dir, model_dir, values, log)

    parity = export.export_run(cfg, model, schema, data_dir, model_dir, metrics=values)
    log(f"Exported to {parity['path']}; a fresh process without the garden scores "
        f"{parity['examples']} held-out examples within {parity['max_abs_diff']:.2e} "
        "of the trained model")
    result = {"model": cfg.model_name, "task": task, "data_dir": data_dir, "eval": values,
              "train": {"seconds": train_seconds,
                        "examples_per_second": progress.steady_rate(),
                        "epoch_examples_per_second": progress.rates},
              "export": parity, **extra}
    atomic_write_text(os.path.join(model_dir, "metrics.json"), json.dumps(result, indent=2))
    return result


def after_training(cfg, model, schema, data_dir, model_dir, values, log):
    """Embedding health and projector files; calibration and base AUC when configured.
    Returns the entries they add to metrics.json (base_auc goes into `values`)."""
    extra = {}
    start = time.time()
    try:
        meta = check_embeddings.training_metadata(schema, cfg, data_dir)
        extra["projector"] = check_embeddings.write_projector(model, schema, cfg, data_dir,
                                                              model_dir, meta=meta)
        report = check_embeddings.check_model(model, schema, cfg, data_dir, model_dir,
                                              meta=meta)
    except ValueError as e:  # e.g. too few items for kNN: report it, do not lose the run
        report = {"passed": False, "error": str(e)}
        log(f"Embedding check skipped: {e}")
    else:
        log("Embedding health:")
        log(check_embeddings.format_report(report))
    report["seconds"] = time.time() - start
    extra["embeddings"] = report
    if cfg.eval.calibrate:
        extra["calibration"] = calibration.calibrate(model, schema, cfg, data_dir,
                                                     cfg.eval.calibrate, model_dir)
        log(calibration.format_report(extra["calibration"]))
    if cfg.eval.base_auc:
        from garden import base_model
        values.update(base_model.base_auc(cfg, schema, data_dir, values.get("auc"), log))
    return extra


FLAGS = flags.FLAGS

def main(argv):
    del argv
    if not FLAGS["verbosity"].present:  # TensorFlow's INFO lines are noise here
        logging.set_verbosity(logging.WARNING)
    overrides = {}
    if FLAGS.epochs is not None:
        overrides["train.epochs"] = FLAGS.epochs
    if FLAGS.batch_size is not None:
        overrides["train.batch_size"] = FLAGS.batch_size
    if FLAGS.data_dir:
        overrides["data.data_dir"] = FLAGS.data_dir
    if FLAGS.calibrate is not None:
        overrides["eval.calibrate"] = FLAGS.calibrate
    if FLAGS.base_auc is not None:
        overrides["eval.base_auc"] = FLAGS.base_auc
    for flag in ("strategy", "mixed_precision", "tpu"):
        if getattr(FLAGS, flag) is not None:
            overrides[f"train.{flag}"] = getattr(FLAGS, flag)
    if FLAGS.num_cpu_devices:
        distribute.split_cpu(FLAGS.num_cpu_devices)
    try:
        cfg = config_lib.resolve(FLAGS.model, FLAGS.experiment, FLAGS.params_override,
                                 overrides)
    except (config_lib.ConfigError, KeyError) as e:
        sys.exit(f"error: {e}")
    model_dir = FLAGS.model_dir or default_model_dir(cfg.model_name)
    print(f"Model folder: {model_dir}")
    if train(cfg, model_dir) is None:
        print("Done (a non-chief worker: the chief evaluates, exports and writes metrics).")
    else:
        print(f"Done. Metrics in {os.path.join(model_dir, 'metrics.json')}")


def define_flags():
    """Command-line flags, defined only when this module is the program."""
    flags.DEFINE_string("model", None, "Registered model name, e.g. sdm or deepfm.")
    flags.DEFINE_string("experiment", None, "Experiment: a bundled name (sdm_synthetic) or a YAML "
                        "path; default MODEL_synthetic.")
    flags.DEFINE_string("params_override", "", "Comma-separated key=value overrides, e.g. "
                        "model.embedding_dim=32,train.epochs=2.")
    flags.DEFINE_string("data_dir", None, "Folder with schema.yaml and TFRecords (default: the "
                        "synthetic world).")
    flags.DEFINE_string("model_dir", None, "Output folder (default: a fresh one under ./runs).")
    flags.DEFINE_integer("epochs", None, "Overrides train.epochs.")
    flags.DEFINE_integer("batch_size", None, "Overrides train.batch_size (per replica).")
    flags.DEFINE_enum("strategy", None, list(distribute.STRATEGIES), "Overrides "
                      "train.strategy: one_device, mirrored, multi_worker (TF_CONFIG), "
                      "parameter_server (TF_CONFIG; this process is the chief), tpu (--tpu).")
    flags.DEFINE_enum("mixed_precision", None, ["float32", "bfloat16"],
                      "Overrides train.mixed_precision.")
    flags.DEFINE_string("tpu", None, "TPU name or address for --strategy=tpu.")
    flags.DEFINE_enum("calibrate", None, ["platt", "isotonic"], "Ranking: fit a calibrator on "
                      "half of the eval split after training, report on the other half, bake "
                      "it into the export (overrides eval.calibrate).")
    flags.DEFINE_bool("base_auc", None, "Ranking: also train the model on user and context "
                      "features only and report its AUC (overrides eval.base_auc).")
    flags.DEFINE_integer("num_cpu_devices", 0, "Split the CPU into this many logical devices "
                         "(lets --strategy=mirrored run on a machine without GPUs).")


def run():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
