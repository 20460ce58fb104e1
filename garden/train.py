"""Trains a registered model, then evaluates and exports it.

    python -m garden.train --model=sdm [--experiment=..] [--data_dir=..] [--model_dir=..]
        [--epochs=..] [--batch_size=..] [--params_override=model.embedding_dim=32,..]

Without --data_dir it trains on the synthetic world (generated once, then cached); without
--model_dir it picks a fresh folder under ./runs and prints it. The model folder receives
config.yaml (the resolved config), TensorBoard events (train/), checkpoints/, metrics.json and
export/<version>/.
"""
import json
import os
import sys
import time

from absl import app, flags, logging

import garden  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import tensorflow as tf  # noqa: E402

from garden import config as config_lib  # noqa: E402
from garden import data, evaluate, export, registry  # noqa: E402
from input.atomic import atomic_write_text  # noqa: E402
from input.reader import count_records, make_dataset  # noqa: E402
from input.specs import Schema  # noqa: E402


class Progress(tf.keras.callbacks.Callback):
    """Writes examples/second to TensorBoard and, when stdout is not a terminal (where Keras
    draws its progress bar), prints a progress line every `every` steps.

    `steady_rate()` is the training throughput after the first logged window, which excludes
    tracing and the shuffle buffer's first fill (it falls back to the whole run when too few
    steps were logged)."""

    def __init__(self, log_dir, batch_size, every, print_lines, log=print):
        super().__init__()
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "train"))
        self.batch_size, self.every, self.print_lines, self.log = (
            batch_size, every, print_lines, log)
        self.step = 0
        self.last_logged = 0
        self.rates = []
        self.steady_start = None  # (step, time) at the first logged window
        self.train_start = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.epoch_start, self.epoch_first_step = epoch, time.time(), self.step
        self.window_start, self.window_step = time.time(), self.step

    def on_train_batch_end(self, batch, logs=None):
        self.step = self.epoch_first_step + batch + 1
        if self.step - self.last_logged >= self.every:
            now = time.time()
            rate = (self.step - self.window_step) * self.batch_size / max(now - self.window_start,
                                                                          1e-9)
            with self.writer.as_default():
                tf.summary.scalar("examples_per_second", rate, step=self.step)
            if self.print_lines:
                metrics = "  ".join(f"{k} {float(v):.4f}" for k, v in (logs or {}).items())
                self.log(f"epoch {self.epoch + 1} step {self.step}  {metrics}  {rate:,.0f} ex/s")
            self.last_logged, self.window_start, self.window_step = self.step, now, self.step
            if self.steady_start is None:
                self.steady_start = (self.step, now)

    def on_train_begin(self, logs=None):
        self.train_start = (self.step, time.time())

    def on_train_end(self, logs=None):
        self.train_end = (self.step, time.time())

    def steady_rate(self):
        start = self.steady_start
        if start is None or self.train_end[0] - start[0] < self.every:
            start = self.train_start
        steps, seconds = self.train_end[0] - start[0], self.train_end[1] - start[1]
        return steps * self.batch_size / seconds if steps and seconds > 0 else None

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.time() - self.epoch_start
        rate = (self.step - self.epoch_first_step) * self.batch_size / max(seconds, 1e-9)
        self.rates.append(rate)
        with self.writer.as_default():
            tf.summary.scalar("epoch_examples_per_second", rate, step=epoch)
        self.writer.flush()
        metrics = "  ".join(f"{k} {float(v):.4f}" for k, v in (logs or {}).items())
        self.log(f"epoch {epoch + 1} done in {seconds:.1f}s  {metrics}  {rate:,.0f} ex/s")


class EpochCheckpoint(tf.keras.callbacks.Callback):
    """Saves model, optimizer and the number of finished epochs after every epoch."""

    def __init__(self, manager, epoch_var):
        super().__init__()
        self.manager, self.epoch_var = manager, epoch_var

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_var.assign(epoch + 1)
        self.manager.save(checkpoint_number=epoch + 1)


def make_optimizer(train_cfg):
    cls = getattr(tf.keras.optimizers, config_lib.OPTIMIZERS[train_cfg.optimizer])
    return cls(learning_rate=train_cfg.learning_rate)


def default_model_dir(model_name):
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = os.path.join("runs", f"{model_name}-{stamp}")
    path, n = base, 1
    while os.path.exists(path):
        n += 1
        path = f"{base}-{n}"
    return path


def train(cfg, model_dir, log=print):
    """Trains, evaluates and exports; returns the contents of metrics.json."""
    tf.keras.utils.set_random_seed(cfg.train.seed)
    task = registry.get_model(cfg.model_name).task
    data_dir = data.task_data_dir(cfg.data, task, log)
    schema = Schema.load(data_dir)
    os.makedirs(model_dir, exist_ok=True)
    config_lib.save(cfg, os.path.join(model_dir, "config.yaml"))
    train_pattern = os.path.join(data_dir, cfg.data.train_pattern)
    train_data = make_dataset(schema, train_pattern, cfg.train.batch_size, training=True,
                              shuffle_buffer=cfg.data.shuffle_buffer, seed=cfg.train.seed)
    # Keras needs the epoch length to run several steps per tf.function call.
    num_examples = count_records(train_pattern)
    steps = -(-num_examples // cfg.train.batch_size)
    train_data = train_data.apply(tf.data.experimental.assert_cardinality(steps))

    model = registry.build_model(cfg, schema)
    optimizer = make_optimizer(cfg.train)
    model.compile(optimizer=optimizer, steps_per_execution=cfg.train.steps_per_execution)
    epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch_var)
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(model_dir, "checkpoints"),
                                         max_to_keep=3)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint)
        log(f"Resumed from {manager.latest_checkpoint} (epoch {int(epoch_var.numpy())})")
    initial_epoch = int(epoch_var.numpy())

    interactive = sys.stdout.isatty()
    progress = Progress(model_dir, cfg.train.batch_size, cfg.train.log_every_steps,
                        print_lines=not interactive, log=log)
    callbacks = [
        tf.keras.callbacks.TensorBoard(model_dir, update_freq=cfg.train.log_every_steps,
                                       write_graph=False, profile_batch=0),
        progress, EpochCheckpoint(manager, epoch_var)]
    log(f"Training {cfg.model_name} ({task}) on {data_dir} -> {model_dir}")
    start = time.time()
    if initial_epoch < cfg.train.epochs:
        model.fit(train_data, epochs=cfg.train.epochs, initial_epoch=initial_epoch,
                  callbacks=callbacks, verbose=1 if interactive else 0)
    train_seconds = time.time() - start

    values = evaluate.evaluate(model, schema, cfg, data_dir)
    log(f"Evaluation on {os.path.join(data_dir, cfg.data.eval_pattern)}:")
    log(evaluate.format_metrics(values))
    writer = tf.summary.create_file_writer(os.path.join(model_dir, "eval"))
    with writer.as_default():
        for key, value in values.items():
            tf.summary.scalar(key.replace("@", "_at_"), value, step=cfg.train.epochs)
    writer.flush()

    export_dir = export.export_model(model, schema, os.path.join(model_dir, "export"))
    parity = export.check_export(model, schema, export_dir,
                                 os.path.join(data_dir, cfg.data.eval_pattern))
    log(f"Exported to {export_dir}; a fresh process without the garden scores "
        f"{parity['examples']} held-out examples within {parity['max_abs_diff']:.2e} "
        "of the trained model")
    result = {"model": cfg.model_name, "task": task, "data_dir": data_dir, "eval": values,
              "train": {"seconds": train_seconds,
                        "examples_per_second": (progress.steady_rate()
                                                if progress.train_start else None),
                        "epoch_examples_per_second": progress.rates},
              "export": {"path": export_dir, **parity}}
    atomic_write_text(os.path.join(model_dir, "metrics.json"), json.dumps(result, indent=2))
    return result


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
    try:
        cfg = config_lib.resolve(FLAGS.model, FLAGS.experiment, FLAGS.params_override,
                                 overrides)
    except (config_lib.ConfigError, KeyError) as e:
        sys.exit(f"error: {e}")
    model_dir = FLAGS.model_dir or default_model_dir(cfg.model_name)
    print(f"Model folder: {model_dir}")
    train(cfg, model_dir)
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
    flags.DEFINE_integer("batch_size", None, "Overrides train.batch_size.")


def run():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
