"""SavedModel export, and the check that the export scores like the trained model.

    python -m garden.export --model_dir=DIR [--export_base=DIR/export]    # a new version
    python -m garden.export --model_dir=DIR --check [--export_dir=VERSION]  # pre-launch check

Writes export_base/<model name>/<version>/ (version = the next integer), the layout TF Serving
polls (--model_base_path=export_base/<model name>). The version is built in a temporary folder
and renamed, so a server polling the base folder never sees half a model, and an interrupted
export leaves no version behind. Signatures:
- serving_default over serialized tf.Example strings (input "examples" [B] string, the request
  format of TF Serving's predict and classify APIs):
  ranking -> {"probability": [B]} (and "uncalibrated_probability" when a calibrator is baked in);
  retrieval -> {"query_vector": [B, d], "item_ids": [B, K], "scores": [B, K]} (K = model.top_k).
- raw_features: the same outputs from one tensor per input feature (names, dtypes and shapes in
  model_card.json): sparse ids [B], dense [B, dim], sequences [B, max_len] plus <name>_len [B].
- retrieval also: user_vector -> {"query_vector"}; top_k(examples, k) -> the k best items.
Ids outside [0, vocab_size) map to row 0 (padding/OOV) in both input paths. Beside the
SavedModel: model_card.json (inputs, outputs, schema, metrics, training config) and
assets.extra/tf_serving_warmup_requests (PredictionLog records built from held-out examples).
The SavedModel holds only TensorFlow ops and variables: it loads without the garden.
"""
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from absl import app, flags, logging

import garden  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import tensorflow as tf  # noqa: E402

from garden import fresh_process  # noqa: E402
from input.atomic import atomic_write_text, make_temp_dir  # noqa: E402
from input.reader import ids_in_vocab, list_files, parse_batch  # noqa: E402

EXAMPLES = tf.TensorSpec([None], tf.string, name="examples")
# The export check passes when every float output differs from the trained model's by at most
# TOLERANCE x max(1, |trained value|): absolute for probabilities, relative for large
# retrieval scores (float32 carries ~7 significant digits whatever the score's size).
TOLERANCE = 1e-5
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
_TF_DTYPES = {"int64": tf.int64, "float32": tf.float32, "string": tf.string}


def raw_input_specs(schema, names):
    """{input name: TensorSpec} of the raw_features signature for the features `names`."""
    specs = {}
    for name in sorted(names):
        f = schema[name]
        dtype = _TF_DTYPES[f.dtype]
        if f.kind == "dense":
            specs[name] = tf.TensorSpec([None, f.dim], dtype, name=name)
        elif f.kind == "sequence":
            specs[name] = tf.TensorSpec([None, f.max_len], dtype, name=name)
            specs[f"{name}_len"] = tf.TensorSpec([None], tf.int32, name=f"{name}_len")
        else:
            specs[name] = tf.TensorSpec([None], dtype, name=name)
    return specs


def clean_raw(schema, raw):
    """Raw request tensors -> model features: ids outside the vocabulary (and hashed strings)
    map as the TFRecord parser maps them, sequence lengths are clipped to [0, max_len]."""
    features = {}
    for name, value in raw.items():
        if name in schema and schema[name].kind in ("sparse", "sequence"):
            features[name] = ids_in_vocab(value, schema.vocab_size(name), schema[name].dtype)
        elif name.endswith("_len") and name[:-4] in schema:
            features[name] = tf.clip_by_value(value, 0, schema[name[:-4]].max_len)
        else:
            features[name] = value
    return features


def _serving_module(model, schema, outputs_fn):
    """A tf.Module with the model's variables, and its signatures as concrete functions.

    The functions close over the Keras model instead of holding it as an attribute, so the
    SavedModel contains plain variables and graphs, nothing Keras-specific. They are traced
    here, once: a tf.function left to tf.saved_model.save is traced again under its save
    context, and the model card would trace it a third time.
    """
    module = tf.Module()
    module.model_variables = list(model.variables)

    def parse(examples):
        features, _ = parse_batch(schema, examples, with_labels=False,
                                  names=model.feature_names)
        return features

    @tf.function(input_signature=[EXAMPLES], autograph=False)
    def serve(examples):
        return outputs_fn(parse(examples))

    @tf.function(input_signature=[raw_input_specs(schema, model.feature_names)],
                 autograph=False)
    def raw_features(features):
        return outputs_fn(clean_raw(schema, features))

    signatures = {"serving_default": serve, "raw_features": raw_features}
    if model.task == "retrieval":
        @tf.function(input_signature=[EXAMPLES], autograph=False)
        def user_vector(examples):
            return {"query_vector": model.serving_outputs(parse(examples))["query_vector"]}

        @tf.function(input_signature=[EXAMPLES, tf.TensorSpec([], tf.int32, name="k")],
                     autograph=False)
        def top_k(examples, k):
            outputs = model.serving_outputs(parse(examples), k=k)
            return {"item_ids": outputs["item_ids"], "scores": outputs["scores"]}

        signatures.update(user_vector=user_vector, top_k=top_k)
    return module, {key: fn.get_concrete_function() for key, fn in signatures.items()}


REJECTED = "rejected-"  # prefix of a version that failed the export check (not served)


def _versions(model_base, rejected):
    """Version numbers of the folders under model_base (with `rejected`, rejected ones too)."""
    names = tf.io.gfile.listdir(model_base) if tf.io.gfile.isdir(model_base) else []
    names = [n.rstrip("/") for n in names]  # gfile marks folders with a trailing "/"
    if rejected:
        names = [n.removeprefix(REJECTED) for n in names]
    return [int(n) for n in names if n.isdigit()]


def next_version(model_base):
    """One more than any version under model_base, rejected ones included: a number is never
    reused (TF Serving keeps serving what it loaded under that number)."""
    return max(_versions(model_base, rejected=True), default=0) + 1


def latest_version(model_base):
    """The newest version folder under export_base/<model> (rejected ones left out), or None."""
    versions = _versions(model_base, rejected=False)
    return os.path.join(model_base, str(max(versions))) if versions else None


def export_model(model, schema, export_base, model_name, outputs_fn=None, card=None,
                 warmup_records=()):
    """Saves `model` as export_base/<model_name>/<next version>/ atomically; returns that path.

    outputs_fn(features) -> serving outputs (default model.serving_outputs; a calibrated
    ranking model passes its own). card: extra entries for model_card.json (metrics, config).
    warmup_records: serialized tf.Example strings for assets.extra's warmup requests.
    """
    outputs_fn = outputs_fn or model.serving_outputs
    module, signatures = _serving_module(model, schema, outputs_fn)
    model_base = os.path.join(export_base, model_name)
    os.makedirs(model_base, exist_ok=True)
    version = next_version(model_base)
    final = os.path.join(model_base, str(version))
    tmp = make_temp_dir(final)
    try:
        tf.saved_model.save(module, tmp, signatures=signatures)
        if warmup_records:
            write_warmup_requests(os.path.join(tmp, WARMUP_FILE), model_name, warmup_records)
        full_card = model_card(model, schema, model_name, version, signatures, card)
        atomic_write_text(os.path.join(tmp, "model_card.json"), json.dumps(full_card, indent=2))
        os.rename(tmp, final)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _spec_entry(spec):
    return {"dtype": spec.dtype.name, "shape": [-1 if d is None else d for d in spec.shape]}


def model_card(model, schema, model_name, version, signatures, extra=None):
    """What a client needs to call the export: signatures' inputs and outputs, the schema."""
    described = {}
    for key, concrete in signatures.items():
        inputs = {s.name: _spec_entry(s) for s in tf.nest.flatten(concrete.structured_input_signature)}
        outputs = {k: _spec_entry(v) for k, v in concrete.structured_outputs.items()}
        described[key] = {"inputs": inputs, "outputs": outputs}
    card = {
        "model_name": model_name, "version": version, "task": model.task,
        "features": model.feature_names,
        "signatures": described,
        "request_formats": {
            "serving_default": "serialized tf.train.Example strings in input 'examples' with the "
                               "features listed under 'features' (labels are not needed)",
            "raw_features": "one tensor per input; sequences padded to max_len, oldest first, "
                            "with <name>_len the number of real items",
        },
        "out_of_vocabulary": "ids outside [0, vocab_size) (and the empty string of hashed "
                             "features) map to row 0, the padding/OOV row",
        "schema": schema.to_dict(),
    }
    card.update(extra or {})
    return card


def write_warmup_requests(path, model_name, records, batch_sizes=(1, 4, 16)):
    """TF Serving warm-up file: PredictionLog records of serving_default predict requests over
    real examples, one request per batch size (the batch sizes clients are likely to send)."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2
    os.makedirs(os.path.dirname(path), exist_ok=True)
    records = list(records)
    with tf.io.TFRecordWriter(path) as writer:
        for size in batch_sizes:
            batch = (records * size)[:size]
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name,
                                               signature_name="serving_default"))
            request.inputs["examples"].CopyFrom(tf.make_tensor_proto(batch, dtype=tf.string))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


def sample_records(pattern, num_examples):
    return [r.numpy() for r in tf.data.TFRecordDataset(list_files(pattern)).take(num_examples)]


# Runs in a fresh interpreter that imports TensorFlow and numpy only, as a server would. It
# scores the serialized examples through serving_default and the parsed features through
# raw_features.
_SCORER = r"""
import sys
import numpy as np
import tensorflow as tf
export_dir, records, raw, out = sys.argv[1:5]
loaded = tf.saved_model.load(export_dir)
examples = tf.constant([r.numpy() for r in tf.data.TFRecordDataset(records)])
outputs = {k: v.numpy() for k, v in loaded.signatures["serving_default"](examples=examples).items()}
raw_inputs = {k: tf.constant(v) for k, v in np.load(raw).items()}
raw_outputs = loaded.signatures["raw_features"](**raw_inputs)
outputs.update({"raw_features/" + k: v.numpy() for k, v in raw_outputs.items()})
assert not any(m == "garden" or m.startswith(("garden.", "input.", "layers."))
               for m in sys.modules), "the scorer imported the garden"
np.savez(out, **outputs)
"""


def check_export(model, schema, export_dir, pattern, num_examples=512, outputs_fn=None,
                 tolerance=TOLERANCE, process=None):
    """Scores held-out examples in-process and with the SavedModel in a fresh process, through
    both the serving_default (tf.Example) and the raw_features signatures. process: the
    fresh_process.FreshProcess to score in (default: a new one).

    Returns {"examples": n, "max_abs_diff": d, "max_scaled_diff": s, "passed": s <= tolerance,
    "outputs": [...]}: d is the largest difference over every float output, s the largest
    difference / max(1, |trained value|); int outputs such as item ids must match exactly
    (else both are inf).
    """
    outputs_fn = outputs_fn or model.serving_outputs
    records = sample_records(pattern, num_examples)
    examples = tf.constant(records)
    features, _ = parse_batch(schema, examples, with_labels=False, names=model.feature_names)
    # As a graph, like the SavedModel, with its unknown batch size: eager op-by-op execution
    # and a graph of static shapes round differently (graph optimization fuses other kernels),
    # which bfloat16 makes visible and can reorder near-tied top-K ids.
    signature = [{k: tf.TensorSpec([None] + v.shape[1:], v.dtype) for k, v in features.items()}]
    scorer = tf.function(outputs_fn, input_signature=signature, autograph=False)
    expected = {k: v.numpy() for k, v in scorer(features).items()}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "examples.tfrecord")
        with tf.io.TFRecordWriter(path) as writer:
            for record in records:
                writer.write(record)
        raw = os.path.join(tmp, "raw.npz")
        np.savez(raw, **{k: v.numpy() for k, v in features.items()})
        out = os.path.join(tmp, "scores.npz")
        with contextlib.ExitStack() as stack:
            process = process or stack.enter_context(fresh_process.FreshProcess())
            process.run(f"scoring {export_dir}", _SCORER, os.path.abspath(export_dir), path,
                        raw, out)
        actual = dict(np.load(out))
    worst = compare(expected, actual)
    return {"examples": len(records), **worst, "passed": worst["max_scaled_diff"] <= tolerance,
            "outputs": sorted(expected)}


def compare(expected, actual):
    """{"max_abs_diff", "max_scaled_diff"} of the SavedModel's outputs `actual` (each output
    under its name and under raw_features/<name>) against the trained model's `expected`."""
    worst = {"max_abs_diff": 0.0, "max_scaled_diff": 0.0}
    for name, value in expected.items():
        for key in (name, f"raw_features/{name}"):
            if key not in actual or actual[key].shape != value.shape:
                raise RuntimeError(f"export output {key!r} missing or of another shape")
            if np.issubdtype(value.dtype, np.floating):
                diff, scaled = float_diffs(value, actual[key])
                worst["max_abs_diff"] = max(worst["max_abs_diff"], diff)
                worst["max_scaled_diff"] = max(worst["max_scaled_diff"], scaled)
            elif not np.array_equal(actual[key], value):
                worst = {"max_abs_diff": float("inf"), "max_scaled_diff": float("inf")}
    return worst


def float_diffs(expected, actual):
    """(largest |actual - expected|, largest of it / max(1, |expected|)); a NaN on either
    side counts as infinite, so it fails any tolerance."""
    diff = np.abs(actual.astype(np.float64) - expected)
    diff[np.isnan(diff)] = np.inf
    scaled = diff / np.maximum(1.0, np.abs(expected))
    return float(np.max(diff, initial=0)), float(np.max(scaled, initial=0))


def mismatch_message(parity, tolerance=TOLERANCE):
    return (f"the export differs from the trained model by {parity['max_scaled_diff']:.3g} "
            f"(difference / max(1, |score|); {parity['max_abs_diff']:.3g} absolute) > "
            f"{tolerance:g}")


def saved_model_signatures(export_dir):
    """(signature names, full text) from `saved_model_cli show --all`, the TF tool a serving
    engineer would run."""
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    if not os.path.exists(cli):
        cli = shutil.which("saved_model_cli")
    if not cli:
        raise RuntimeError("saved_model_cli not found (it comes with the tensorflow package)")
    result = subprocess.run([cli, "show", "--dir", export_dir, "--all"], capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise RuntimeError(f"saved_model_cli show --dir {export_dir} failed:\n"
                           f"{result.stderr[-3000:]}")
    names = []
    for line in result.stdout.splitlines():
        if line.startswith("signature_def['"):
            names.append(line.split("'")[1])
    return sorted(set(names) - {"__saved_model_init_op"}), result.stdout


def serving_outputs_fn(model, model_dir):
    """The model's serving outputs, through the calibrator a training run saved (if any)."""
    from garden import calibration
    calibrator = calibration.load(model_dir) if model.task == "ranking" else None
    if calibrator is None:
        return model.serving_outputs
    return calibration.calibrated_outputs(model, calibrator)


def export_run(cfg, model, schema, data_dir, model_dir, export_base=None, metrics=None,
               process=None):
    """Exports a training run for serving: the version folder with card and warm-up file,
    then the parity check (in `process`, a fresh_process.FreshProcess, default a new one); a
    version that fails it is renamed rejected-<version>. Returns {"path": ..., **parity}."""
    export_base = export_base or os.path.join(model_dir, "export")
    eval_pattern = os.path.join(data_dir, cfg.data.eval_pattern)
    outputs_fn = serving_outputs_fn(model, model_dir)
    from garden import config as config_lib
    card = {"training_config": config_lib.to_dict(cfg), "metrics": metrics or {},
            "data_dir": data_dir}
    path = export_model(model, schema, export_base, cfg.model_name, outputs_fn, card,
                        sample_records(eval_pattern, 16))
    parity = check_export(model, schema, path, eval_pattern, outputs_fn=outputs_fn,
                          process=process)
    if not parity["passed"]:
        path = reject(path)
    return {"path": path, **parity}


def reject(version_dir):
    """Renames a version folder that failed its check to rejected-<version>: out of TF
    Serving's sight (not a number), kept for inspection, its number never reused."""
    rejected = os.path.join(os.path.dirname(version_dir), REJECTED + os.path.basename(version_dir))
    os.rename(version_dir, rejected)
    return rejected


FLAGS = flags.FLAGS

def main(argv):
    del argv
    if not FLAGS["verbosity"].present:  # TensorFlow's INFO lines are noise here
        logging.set_verbosity(logging.WARNING)
    from garden.evaluate import load_trained
    if not FLAGS.model_dir:
        sys.exit("--model_dir is required")
    if FLAGS.index != "brute_force":  # before any export: fail fast, say why
        from garden import index
        try:
            index.check_index_kind(FLAGS.index)
        except ValueError as e:
            sys.exit(f"error: {e}")
    cfg, schema, data_dir, model = load_trained(FLAGS.model_dir)
    export_base = FLAGS.export_base or os.path.join(FLAGS.model_dir, "export")
    eval_pattern = os.path.join(data_dir, cfg.data.eval_pattern)
    if not FLAGS.check:
        metrics_path = os.path.join(FLAGS.model_dir, "metrics.json")
        metrics = json.load(open(metrics_path)).get("eval", {}) \
            if os.path.exists(metrics_path) else {}
        with fresh_process.FreshProcess() as process:  # one for both checks
            result = export_run(cfg, model, schema, data_dir, FLAGS.model_dir, export_base,
                                metrics, process=process)
            print(f"Exported {cfg.model_name} to {result['path']}")
            print(json.dumps(result))
            if model.task == "retrieval":  # item vectors, top-K SavedModel (garden/index.py)
                from garden import index
                index_info = index.export_and_check(
                    model, schema, os.path.join(FLAGS.model_dir, "index"), eval_pattern,
                    kind=FLAGS.index, process=process)
                print(json.dumps(index_info))
        if not result["passed"]:
            sys.exit(f"error: export check failed: {mismatch_message(result)}")
        if model.task == "retrieval" and not index_info["passed"]:
            sys.exit(f"error: top-K index check failed: {index.mismatch_message(index_info)}")
        return
    path = FLAGS.export_dir or latest_version(os.path.join(export_base, cfg.model_name))
    if not path or not os.path.exists(os.path.join(path, "saved_model.pb")):
        sys.exit(f"--check: no SavedModel under {os.path.join(export_base, cfg.model_name)} "
                 "(export first, or name one with --export_dir)")
    names, text = saved_model_signatures(path)
    print(text)
    try:
        parity = check_export(model, schema, path, eval_pattern, FLAGS.num_examples,
                              outputs_fn=serving_outputs_fn(model, FLAGS.model_dir),
                              tolerance=FLAGS.tolerance)
    except RuntimeError as e:  # an output missing, or the SavedModel does not load
        sys.exit(f"--check failed: {e}")
    report = {"path": path, "signatures": names, **parity}
    print(json.dumps(report))
    if not report["passed"]:
        sys.exit(f"--check failed: {mismatch_message(parity, FLAGS.tolerance)}")
    print(f"--check passed: {path} scores {parity['examples']} held-out examples within "
          f"{parity['max_abs_diff']:.2e} of the trained model; signatures {names}")


def define_flags():
    """Command-line flags, defined only when this module is the program."""
    flags.DEFINE_string("model_dir", None, "Folder of a training run (has config.yaml).")
    flags.DEFINE_string("export_base", None, "Versions go to EXPORT_BASE/<model name>/; "
                        "default MODEL_DIR/export.")
    flags.DEFINE_bool("check", False, "Check an existing export instead of writing one: "
                      "saved_model_cli's signatures, and fresh-process scores within "
                      "--tolerance of the trained model (exit 1 otherwise).")
    flags.DEFINE_string("export_dir", None, "--check this version folder (default: the newest).")
    flags.DEFINE_integer("num_examples", 512, "--check: held-out examples to score.")
    flags.DEFINE_float("tolerance", TOLERANCE, "--check: the largest accepted difference / "
                       "max(1, |score|).")
    flags.DEFINE_enum("index", "brute_force", ["brute_force", "scann"], "Retrieval: the "
                      "top-K SavedModel's index; scann is unavailable with TensorFlow 2.21 "
                      "(garden/index.py says why) and fails with the reason.")


def run():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
