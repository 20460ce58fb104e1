"""SavedModel export, and the check that the export scores like the trained model.

    python -m garden.export --model_dir=DIR [--export_base=DIR/export]

Writes export_base/<version>/ (version = the next integer), built in a temporary folder and
renamed, so a server polling export_base never sees half a model. Signatures take serialized
tf.Example strings (the request format of TF Serving):
- ranking: serving_default -> {"probability": [B]}.
- retrieval: serving_default -> {"query_vector": [B, d], "item_ids": [B, K], "scores": [B, K]}
  (K = model.top_k); user_vector -> {"query_vector"}; top_k(examples, k) -> the k best items
  over the whole corpus.
The SavedModel holds only TensorFlow ops and variables: it loads without the garden.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from absl import app, flags, logging

import garden  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import tensorflow as tf  # noqa: E402

from input.atomic import make_temp_dir  # noqa: E402
from input.reader import list_files, parse_batch  # noqa: E402

EXAMPLES = tf.TensorSpec([None], tf.string, name="examples")


def _serving_module(model, schema):
    """A tf.Module with the model's variables and its serving functions.

    The functions close over the Keras model instead of holding it as an attribute, so the
    SavedModel contains plain variables and graphs, nothing Keras-specific.
    """
    module = tf.Module()
    module.model_variables = list(model.variables)

    def parse(examples):
        features, _ = parse_batch(schema, examples, with_labels=False,
                                  names=model.feature_names)
        return features

    @tf.function(input_signature=[EXAMPLES])
    def serve(examples):
        return model.serving_outputs(parse(examples))

    module.serve = serve
    signatures = {"serving_default": serve}
    if model.task == "retrieval":
        @tf.function(input_signature=[EXAMPLES])
        def user_vector(examples):
            return {"query_vector": model.serving_outputs(parse(examples))["query_vector"]}

        @tf.function(input_signature=[EXAMPLES, tf.TensorSpec([], tf.int32, name="k")])
        def top_k(examples, k):
            outputs = model.serving_outputs(parse(examples), k=k)
            return {"item_ids": outputs["item_ids"], "scores": outputs["scores"]}

        module.user_vector, module.top_k = user_vector, top_k
        signatures.update(user_vector=user_vector, top_k=top_k)
    return module, signatures


def next_version(export_base):
    versions = [int(n) for n in tf.io.gfile.listdir(export_base) if n.isdigit()] \
        if tf.io.gfile.isdir(export_base) else []
    return max(versions, default=0) + 1


def export_model(model, schema, export_base):
    """Saves `model` as export_base/<next version>/ atomically; returns that path."""
    module, signatures = _serving_module(model, schema)
    os.makedirs(export_base, exist_ok=True)
    version = next_version(export_base)
    final = os.path.join(export_base, str(version))
    tmp = make_temp_dir(final)
    try:
        tf.saved_model.save(module, tmp, signatures=signatures)
        os.rename(tmp, final)
    finally:
        if os.path.exists(tmp):
            tf.io.gfile.rmtree(tmp)
    return final


# Runs in a fresh interpreter that imports TensorFlow and numpy only, as a server would.
_SCORER = r"""
import sys
import numpy as np
import tensorflow as tf
export_dir, records, out = sys.argv[1:4]
loaded = tf.saved_model.load(export_dir)
serve = loaded.signatures["serving_default"]
examples = tf.constant([r.numpy() for r in tf.data.TFRecordDataset(records)])
outputs = {k: v.numpy() for k, v in serve(examples=examples).items()}
assert not any(m == "garden" or m.startswith(("garden.", "input.", "layers."))
               for m in sys.modules), "the scorer imported the garden"
np.savez(out, **outputs)
"""


def check_export(model, schema, export_dir, pattern, num_examples=512):
    """Scores held-out examples in-process and with the SavedModel in a fresh process.

    Returns {"examples": n, "max_abs_diff": d, "outputs": [...]}; d is the largest difference
    over every float output (int outputs such as item ids must match exactly, else inf).
    """
    records = []
    for raw in tf.data.TFRecordDataset(list_files(pattern)).take(num_examples):
        records.append(raw.numpy())
    examples = tf.constant(records)
    features, _ = parse_batch(schema, examples, with_labels=False, names=model.feature_names)
    # As a graph, like the SavedModel: eager op-by-op execution rounds bfloat16 differently
    # from the fused kernels graph optimization picks.
    expected = {k: v.numpy() for k, v in tf.function(model.serving_outputs)(features).items()}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "examples.tfrecord")
        with tf.io.TFRecordWriter(path) as writer:
            for record in records:
                writer.write(record)
        out = os.path.join(tmp, "scores.npz")
        result = subprocess.run([sys.executable, "-c", _SCORER, os.path.abspath(export_dir),
                                 path, out], cwd=tmp, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"scoring {export_dir} in a fresh process failed:\n"
                               f"{result.stderr[-3000:]}")
        actual = dict(np.load(out))
    worst = 0.0
    for name, value in expected.items():
        if name not in actual or actual[name].shape != value.shape:
            raise RuntimeError(f"export output {name!r} missing or of another shape")
        if np.issubdtype(value.dtype, np.floating):
            worst = max(worst, float(np.max(np.abs(actual[name] - value))))
        elif not np.array_equal(actual[name], value):
            worst = float("inf")
    return {"examples": len(records), "max_abs_diff": worst, "outputs": sorted(expected)}


FLAGS = flags.FLAGS

def main(argv):
    del argv
    if not FLAGS["verbosity"].present:  # TensorFlow's INFO lines are noise here
        logging.set_verbosity(logging.WARNING)
    from garden.evaluate import load_trained
    if not FLAGS.model_dir:
        sys.exit("--model_dir is required")
    cfg, schema, data_dir, model = load_trained(FLAGS.model_dir)
    path = export_model(model, schema, FLAGS.export_base or os.path.join(FLAGS.model_dir,
                                                                         "export"))
    parity = check_export(model, schema, path, os.path.join(data_dir, cfg.data.eval_pattern))
    print(f"Exported {cfg.model_name} to {path}")
    print(json.dumps(parity))
    if model.task == "retrieval":  # item vectors and the top-K SavedModel (garden/index.py)
        from garden import index
        print(json.dumps(index.export_and_check(
            model, schema, os.path.join(FLAGS.model_dir, "index"),
            os.path.join(data_dir, cfg.data.eval_pattern))))


def define_flags():
    """Command-line flags, defined only when this module is the program."""
    flags.DEFINE_string("model_dir", None, "Folder of a training run (has config.yaml).")
    flags.DEFINE_string("export_base", None, "Where versions go; default MODEL_DIR/export.")


def run():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
