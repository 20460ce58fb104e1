"""ESMM against a CVR model trained on clicked impressions only (pytest -m slow, minutes).

The ESMM paper's point: a CVR model fitted on clicked impressions (the usual practice) is
trained on a biased sample of what it must score at serving time, every impression. On each
seed's synthetic world:
- esmm: the default experiment, over every impression;
- clicked-only CVR: deepfm on label `conversion`, trained on the click == 1 training
  impressions (DeepFM is a stronger single-task net than ESMM's towers, so the baseline is
  not handicapped by architecture);
- ctr: deepfm on label `click` over every impression, for the paper's own CTCVR baseline
  (pCTR of an independently trained CTR model x the clicked-only pCVR).
All are scored on every test impression against click * conversion (`conversion` itself in
this world: a conversion needs a click); the CVR task proper is also scored on the clicked
test impressions. The test asserts that ESMM's pCTCVR beats the clicked-only pCVR on every
seed (the comparison the issue asks for) and prints every number (pytest -s). The other
two comparisons (against pCTR x clicked-only pCVR, and pCVR on clicked impressions) favour
ESMM by about 0.01 AUC on every seed measured, within the noise of one test split: reported,
not asserted.
"""
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from garden import config, data, evaluate, metrics, train
from input.reader import make_dataset

NUM_EXAMPLES = 150_000
SEEDS = (0, 1, 2)
# ESMM pCTCVR AUC over clicked-only pCVR AUC, over impressions; measured gaps 0.134, 0.136,
# 0.139 on seeds 0-2 (test AUC standard error ~0.01), so seeds do not flip it.
MARGIN = 0.05


def write_clicked_subset(ranking_dir, out_dir):
    """out_dir: the training impressions with click == 1 (records copied byte for byte), the
    same test files (every impression) and schema."""
    os.makedirs(out_dir)
    for name in os.listdir(ranking_dir):
        if name.startswith("test-") or name == "schema.yaml":
            shutil.copy(os.path.join(ranking_dir, name), out_dir)
    spec = {"click": tf.io.FixedLenFeature([], tf.float32)}
    files = sorted(tf.io.gfile.glob(os.path.join(ranking_dir, "train-*.tfrecord")))
    kept = 0
    with tf.io.TFRecordWriter(os.path.join(out_dir, "train-00000-of-00001.tfrecord")) as w:
        for records in tf.data.TFRecordDataset(files).batch(8192):
            clicked = tf.io.parse_example(records, spec)["click"].numpy() > 0.5
            for record in records.numpy()[clicked]:
                w.write(record)
            kept += int(clicked.sum())
    return kept


def scores_on_test_split(model_dir, outputs):
    """{name: [N] array} over the test split of a trained run, in file order, plus labels."""
    cfg, schema, data_dir, model = evaluate.load_trained(model_dir, log=lambda *a: None)
    serve = tf.function(model.serving_outputs)
    out = {k: [] for k in outputs + ["click", "conversion", "true_cvr"]}
    for features, labels in make_dataset(schema, os.path.join(data_dir, cfg.data.eval_pattern),
                                         4096, training=False):
        scores = serve(features)
        for k in outputs:
            out[k].append(scores[k].numpy())
        for k in ("click", "conversion", "true_cvr"):
            out[k].append(labels[k].numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def run(name, data_dir, model_dir, seed, override=""):
    cfg = config.resolve(name, params_override=override,
                         overrides={"data.data_dir": data_dir, "train.seed": seed})
    return train.train(cfg, model_dir, log=lambda *a: None)


def compare(seed, tmp_path):
    ranking = os.path.join(data.synthetic_dir(NUM_EXAMPLES, seed), "ranking")
    clicked_dir = str(tmp_path / "clicked")
    clicks = write_clicked_subset(ranking, clicked_dir)
    run("esmm", ranking, str(tmp_path / "esmm"), seed)
    run("deepfm", clicked_dir, str(tmp_path / "cvr"), seed,
        "task.label=conversion,task.oracle_label=")
    run("deepfm", ranking, str(tmp_path / "ctr"), seed)
    esmm = scores_on_test_split(str(tmp_path / "esmm"), ["ctr", "cvr", "ctcvr"])
    cvr = scores_on_test_split(str(tmp_path / "cvr"), ["probability"])
    ctr = scores_on_test_split(str(tmp_path / "ctr"), ["probability"])
    assert np.array_equal(esmm["conversion"], cvr["conversion"])  # same test order
    y = esmm["click"] * esmm["conversion"]
    on_clicks = esmm["click"] > 0.5
    return {
        "seed": seed, "train_clicks": clicks, "test_impressions": len(y),
        "test_conversions": int(y.sum()),
        "ctcvr_auc_esmm": metrics.auc(y, esmm["ctcvr"]),
        "ctcvr_auc_clicked_cvr": metrics.auc(y, cvr["probability"]),
        "ctcvr_auc_ctr_x_clicked_cvr": metrics.auc(y, ctr["probability"] * cvr["probability"]),
        "cvr_auc_on_clicks_esmm": metrics.auc(y[on_clicks], esmm["cvr"][on_clicks]),
        "cvr_auc_on_clicks_clicked_cvr": metrics.auc(y[on_clicks],
                                                     cvr["probability"][on_clicks]),
        "cvr_auc_on_clicks_oracle": metrics.auc(y[on_clicks], esmm["true_cvr"][on_clicks]),
    }


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_esmm_ctcvr_beats_a_cvr_model_trained_on_clicks_only(seed, tmp_path):
    values = compare(seed, tmp_path)
    print(values)
    assert values["ctcvr_auc_esmm"] >= values["ctcvr_auc_clicked_cvr"] + MARGIN, values
