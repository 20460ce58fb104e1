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
import shutil
import sys
import tempfile
import time

from absl import app, flags, logging

import garden  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import tensorflow as tf  # noqa: E402

from garden import config as config_lib  # noqa: E402
from garden import calibration, check_embeddings  # noqa: E402
from garden import data, distribute, evaluate, export, fresh_process, optimizers  # noqa: E402
from garden import registry  # noqa: E402
from input.atomic import atomic_write_text  # noqa: E402
from garden.callbacks import (Checkpointer, DataReport, Progress, StepCheckpointer,  # noqa: E402
                              StepProgress, StepStopOnNonFiniteLoss, StopOnNonFiniteLoss,
                              TrainingDiverged)
from input.integrity import CorruptFileError, DataCounters, scan_files  # noqa: E402
from input.reader import (NONFINITE_MESSAGE, fits_in_memory, list_files, make_dataset,  # noqa: E402
                          validate_files)
from input.specs import Schema, SchemaError  # noqa: E402


def default_model_dir(model_name):
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = os.path.join("runs", f"{model_name}-{stamp}")
    path, n = base, 1
    while os.path.exists(path):
        n += 1
        path = f"{base}-{n}"
    return path


def check_data(schema, data_dir, cfg, log=print):
    """Checks the training and evaluation files before any training: every record readable
    (CRC) and the first records of each file matching the schema. Returns the training files'
    FileScan; damaged files raise, or with data.skip_corrupt_records are cut at the damage
    (training files) and reported."""
    scans = {}
    for name, pattern in (("train", cfg.data.train_pattern), ("eval", cfg.data.eval_pattern)):
        files = list_files(os.path.join(data_dir, pattern))
        validate_files(schema, files)
        scans[name] = scan_files(files, skip_corrupt=cfg.data.skip_corrupt_records)
        for path, message in scans[name].corrupt:
            log(f"warning: {path} is corrupt ({message}); skipping it from record "
                f"{scans[name].records[path]} on (--skip_corrupt_records)")
    if scans["eval"].corrupt:
        raise CorruptFileError(f"{scans['eval'].corrupt[0][0]}: evaluation files must be "
                               "intact; metrics over part of a file would mislead")
    return scans["train"]


def in_memory_training(cfg, pattern, strategy):
    """Whether the training split is small enough (data.in_memory_mb) to parse once into
    memory; parameter-server workers always stream theirs."""
    return (cfg.data.in_memory_mb > 0 and not distribute.is_parameter_server(strategy)
            and fits_in_memory(pattern, cfg.data.in_memory_mb))


def training_data(schema, pattern, cfg, strategy, global_batch, scan, skip_batches=0,
                  counters=None, features=None):
    """The training dataset. It repeats and Keras runs a fixed number of steps per epoch:
    with several workers each reads its own files, and a fixed step count keeps them in
    lockstep whatever the shard sizes. skip_batches drops the batches a resumed run already
    trained on (the seeded stream is the same in every run). features: the only features
    parsed (the model's training_features)."""
    options = dict(training=True, shuffle_buffer=cfg.data.shuffle_buffer, repeat=True,
                   features=features, in_memory=in_memory_training(cfg, pattern, strategy),
                   validate=False, record_limits=scan.records if scan.corrupt else None)
    if distribute.is_parameter_server(strategy):
        # Each worker builds its own pipeline; unseeded, so workers read different orders.
        return tf.keras.utils.experimental.DatasetCreator(
            lambda context: make_dataset(schema, pattern, global_batch, **options))
    return make_dataset(schema, pattern, global_batch, seed=cfg.train.seed,
                        skip_batches=skip_batches, counters=counters, **options)


def train(cfg, model_dir, log=print, strategy=None):
    """Trains, evaluates and exports; returns the contents of metrics.json.

    strategy: a tf.distribute.Strategy to use instead of the one cfg.train.strategy names (for
    in-process clusters). Under multi-worker training only the chief evaluates, exports and
    writes; other workers return None after training.

    A run that finds checkpoints in model_dir resumes from the latest: weights, optimizer
    state, global step and, for one_device and mirrored, the position in the (seeded) input
    stream, so a run killed at any point and restarted ends where an uninterrupted one would.
    Raises callbacks.TrainingDiverged when the loss becomes NaN/Inf (nothing exported).
    """
    tf.keras.utils.set_random_seed(cfg.train.seed)
    if cfg.train.deterministic:
        tf.config.experimental.enable_op_determinism()
    distribute.set_precision(cfg.train.mixed_precision)
    strategy = strategy or distribute.make_strategy(cfg.train.strategy, cfg.train.tpu)
    chief = distribute.is_chief(strategy)
    replicas = distribute.num_replicas(strategy)
    global_batch = cfg.train.batch_size * replicas
    learning_rate = cfg.train.learning_rate
    parameter_server = distribute.is_parameter_server(strategy)
    if cfg.train.scale_learning_rate and not parameter_server:
        learning_rate *= replicas
    task = registry.get_model(cfg.model_name).task
    data_dir = data.task_data_dir(cfg.data, task, log)
    schema = Schema.load(data_dir)
    train_pattern = os.path.join(data_dir, cfg.data.train_pattern)
    scan = check_data(schema, data_dir, cfg, log)
    steps = -(-scan.total // global_batch)
    # Non-chief workers write their (required) checkpoints and summaries to a scratch folder.
    out_dir = model_dir if chief else tempfile.mkdtemp(prefix="garden-worker-")
    os.makedirs(out_dir, exist_ok=True)
    if chief:
        config_lib.save(cfg, os.path.join(model_dir, "config.yaml"))
    if scan.corrupt:
        with tf.summary.create_file_writer(os.path.join(out_dir, "train")).as_default():
            tf.summary.scalar("data/corrupt_files", len(scan.corrupt), step=0)
            tf.summary.scalar("data/train_records_kept", scan.total, step=0)

    with strategy.scope():
        model = registry.build_model(cfg, schema)
        model.prepare(train_pattern)
        optimizer = optimizers.make(cfg.train.optimizer, learning_rate)
        model.compile(optimizer=optimizer, steps_per_execution=cfg.train.steps_per_execution,
                      jit_compile=cfg.train.jit_compile)
        epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        position = tf.Variable(0, dtype=tf.int64, trainable=False, name="position")
        batch_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_batch")
    # position: batches of the training stream consumed so far (epochs x steps + steps into
    # the current epoch); it means that only under the global batch it was counted with.
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch_var,
                                     position=position, global_batch=batch_var)
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(out_dir, "checkpoints"),
                                         max_to_keep=3)
    latest = tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
    if cfg.train.strategy == "one_device":
        # Only on a single device: building before fit under a cluster strategy is not
        # symmetric.
        with strategy.scope():  # tracing the train step is most of a short run's start-up
            model.build_for_training(next(iter(make_dataset(
                schema, os.path.join(data_dir, cfg.data.eval_pattern), 2, training=False))))
        if chief and not latest:  # the initial item tables, for "rows never updated"
            check_embeddings.save_initial_tables(model, cfg.task.item, model_dir)
    if latest:
        checkpoint.restore(latest)
        # The checkpoint holds the optimizer's learning rate; the config's wins, so that a
        # resumed run can lower it (after a divergence, say).
        optimizer.learning_rate.assign(learning_rate)
        if int(batch_var.numpy()) != global_batch:
            log(f"The global batch changed ({int(batch_var.numpy())} -> {global_batch}): "
                "resuming at the start of the unfinished epoch")
            position.assign(epoch_var * steps)
    batch_var.assign(global_batch)
    done = int(position.numpy())
    initial_epoch = done // steps
    if latest:
        log(f"Resumed from {latest} ({initial_epoch} epoch(s) and {done % steps} step(s) "
            "done)")
    # The exact input position is restored where one seeded stream feeds every replica;
    # multi-worker and parameter-server inputs are sharded by TensorFlow and start afresh.
    exact_resume = cfg.train.strategy in ("one_device", "mirrored") and not parameter_server
    counters = None if parameter_server else DataCounters(schema)

    interactive = sys.stdout.isatty()
    every = cfg.train.checkpoint_every_steps
    if parameter_server:  # no batch-level callbacks under ParameterServerStrategy
        callbacks = [StopOnNonFiniteLoss(manager), Progress(out_dir, global_batch, log=log),
                     Checkpointer(manager, epoch_var, position, every)]
    else:
        callbacks = [StepStopOnNonFiniteLoss(manager),
                     StepProgress(out_dir, global_batch, cfg.train.log_every_steps,
                                  print_lines=chief and not interactive, log=log),
                     StepCheckpointer(manager, epoch_var, position, every)]
    progress = callbacks[1]
    if counters is not None:
        callbacks.append(DataReport(counters, out_dir, log=log))
    if chief:
        callbacks.append(tf.keras.callbacks.TensorBoard(
            model_dir, update_freq="epoch" if parameter_server else cfg.train.log_every_steps,
            write_graph=False, profile_batch=0))
    log(f"Training {cfg.model_name} ({task}) on {data_dir} -> {model_dir} "
        f"[{cfg.train.strategy}: {replicas} replica(s), global batch {global_batch}, "
        f"learning rate {learning_rate:g}, {cfg.train.mixed_precision}]")
    start = time.time()
    # Segments of (first epoch, steps in it): a run resumed mid-epoch first finishes that
    # epoch's remaining steps, then runs whole epochs.
    segments = []
    if initial_epoch < cfg.train.epochs:
        if done % steps:
            segments.append((initial_epoch, steps - done % steps))
            initial_epoch += 1
        if initial_epoch < cfg.train.epochs:
            segments.append((initial_epoch, steps))
    for first_epoch, segment_steps in segments:
        last_epoch = first_epoch + 1 if segment_steps != steps else cfg.train.epochs
        try:
            # Inside the try: an in-memory split is parsed (and NaN-checked) right here.
            train_data = training_data(
                schema, train_pattern, cfg, strategy, global_batch, scan,
                skip_batches=int(position.numpy()) if exact_resume else 0, counters=counters,
                features=model.training_features)
            model.fit(train_data, epochs=last_epoch, initial_epoch=first_epoch,
                      steps_per_epoch=segment_steps, callbacks=callbacks,
                      verbose=1 if interactive and chief else 0)
        except tf.errors.InvalidArgumentError as e:
            if NONFINITE_MESSAGE not in e.message:  # not the reader's NaN/Inf check
                raise
            message = e.message[e.message.index("feature"):].split("]")[0]
            raise SchemaError(message.replace("\\'", "'")) from None
    train_seconds = time.time() - start
    if not chief:  # its scratch copy is never read again (a restarted worker gets a new one)
        shutil.rmtree(out_dir, ignore_errors=True)
        return None

    # Evaluate and export a plain single-device copy restored from the last checkpoint: the
    # same path whatever the training strategy (sharded or mirrored variables included), and
    # a proof that the checkpoint restores outside it.
    # The export checks' fresh process starts now: its TensorFlow import overlaps evaluation.
    with fresh_process.FreshProcess() as process:
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
        parity, index_info = export_and_index(cfg, model, schema, data_dir, model_dir, values,
                                              log, process)
    result = {"model": cfg.model_name, "task": task, "data_dir": data_dir, "eval": values,
              "data": {"train_records": scan.total, "corrupt_files": scan.corrupt,
                       **(counters.values() if counters is not None else {})},
              "train": {"seconds": train_seconds, "steps": int(optimizer.iterations.numpy()),
                        "examples_per_second": progress.steady_rate(),
                        "epoch_examples_per_second": progress.rates},
              "export": parity, **extra}
    if index_info is not None:
        result["index"] = index_info
    atomic_write_text(os.path.join(model_dir, "metrics.json"), json.dumps(result, indent=2))
    return result


def export_and_index(cfg, model, schema, data_dir, model_dir, values, log, process):
    """The checked export and, for retrieval, the checked top-K index next to it (both
    checks in `process`). Returns (parity, index info or None); a failed check is logged
    and main() exits 1."""
    parity = export.export_run(cfg, model, schema, data_dir, model_dir, metrics=values,
                               process=process)
    if parity["passed"]:
        log(f"Exported to {parity['path']}; a fresh process without the garden scores "
            f"{parity['examples']} held-out examples within {parity['max_abs_diff']:.2e} "
            "of the trained model")
    else:  # metrics.json is still written
        log(f"Export check FAILED for {parity['path']}: {export.mismatch_message(parity)}")
    if model.task != "retrieval":
        return parity, None
    from garden import index
    index_info = index.export_and_check(model, schema, os.path.join(model_dir, "index"),
                                        os.path.join(data_dir, cfg.data.eval_pattern),
                                        process=process)
    if index_info["passed"]:
        log(f"Item index and top-K SavedModel in {index_info['path']}: {index_info}")
    else:
        log(f"Top-K index check FAILED for {index_info['path']}: "
            f"{index.mismatch_message(index_info)}")
    return parity, index_info


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
    if FLAGS.skip_corrupt_records:
        overrides["data.skip_corrupt_records"] = True
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
    try:
        result = train(cfg, model_dir)
    except (SchemaError, CorruptFileError, TrainingDiverged, FileNotFoundError) as e:
        sys.exit(f"error: {e}")
    if result is None:
        print("Done (a non-chief worker: the chief evaluates, exports and writes metrics).")
    elif not result["export"]["passed"]:
        sys.exit(f"error: export check failed: {export.mismatch_message(result['export'])}")
    elif "index" in result and not result["index"]["passed"]:
        from garden import index
        sys.exit(f"error: top-K index check failed: {index.mismatch_message(result['index'])}")
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
    flags.DEFINE_bool("skip_corrupt_records", False, "Train on the readable records of "
                      "corrupt or truncated training files (counted and logged) instead of "
                      "stopping with an error naming the file.")
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
