"""Calibration of ranking models: Platt scaling or isotonic regression on the model's logit.

    python -m garden.train --model=deepfm --calibrate=platt       # fit after training, bake in
    python -m garden.evaluate --model_dir=DIR --calibrate=isotonic  # fit, report, save

Validation split: the eval (test) split's records are dealt alternately into two halves
(tf.data shard 2 over the files in order): the calibrator is fitted on the even records and
every before/after number is measured on the odd ones, so it is never scored on the data it
was fitted on. The training files are not used: the model has seen them, and its logits there
are over-confident.

- Platt (Platt, 1999): p = sigmoid(a * logit + b), a and b by Newton's method on log loss.
- Isotonic (Zadrozny & Elkan, KDD 2002): the pool-adjacent-violators fit of the click rate as
  a non-decreasing function of the logit; between the fitted blocks' mean logits it
  interpolates linearly (as scikit-learn's IsotonicRegression does), outside it is clamped.

The fitted calibrator is saved as MODEL_DIR/calibration.json; garden.export then bakes it into
the SavedModel ("probability" is calibrated, "uncalibrated_probability" is the model's own).
Reported per bucket of predicted probability (10 equal-width buckets): examples, mean predicted,
observed rate and their ratio; and the expected calibration error (ECE: the example-weighted
mean |predicted - observed| over buckets), before and after, plus a reliability diagram PNG.
"""
import dataclasses
import json
import os
from typing import List

import numpy as np
import tensorflow as tf

from garden import metrics
from input.atomic import atomic_write_text
from input.reader import list_files, parse_batch

METHODS = ("platt", "isotonic")
FILE = "calibration.json"


@dataclasses.dataclass
class Calibrator:
    """method "platt": params a, b. method "isotonic": knots x (logits, increasing), y."""
    method: str
    a: float = 1.0
    b: float = 0.0
    x: List[float] = dataclasses.field(default_factory=list)
    y: List[float] = dataclasses.field(default_factory=list)

    def apply_np(self, logits):
        logits = np.asarray(logits, np.float64)
        if self.method == "platt":
            return 1.0 / (1.0 + np.exp(-(self.a * logits + self.b)))
        return np.interp(logits, self.x, self.y)

    def apply_tf(self, logits):
        """The same map as apply_np, in TensorFlow ops (baked into the export), float32."""
        logits = tf.cast(logits, tf.float32)
        if self.method == "platt":
            return tf.sigmoid(self.a * logits + self.b)
        x = tf.constant(self.x, tf.float32)
        y = tf.constant(self.y, tf.float32)
        if len(self.x) == 1:
            return tf.fill(tf.shape(logits), y[0])
        hi = tf.clip_by_value(tf.searchsorted(x, logits, side="right"), 1, len(self.x) - 1)
        x0, x1 = tf.gather(x, hi - 1), tf.gather(x, hi)
        y0, y1 = tf.gather(y, hi - 1), tf.gather(y, hi)
        t = tf.clip_by_value((logits - x0) / (x1 - x0), 0.0, 1.0)
        return y0 + t * (y1 - y0)


def fit(method, logits, labels):
    if method == "platt":
        return fit_platt(logits, labels)
    if method == "isotonic":
        return fit_isotonic(logits, labels)
    raise ValueError(f"--calibrate must be one of {METHODS}, got {method!r}")


def fit_platt(logits, labels, iterations=100, l2=1e-6):
    """a, b minimizing the log loss of sigmoid(a * logit + b) (Newton's method)."""
    z = np.asarray(logits, np.float64)
    y = np.asarray(labels, np.float64)
    w = np.array([1.0, 0.0])
    X = np.stack([z, np.ones_like(z)], axis=1)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(X @ w)))
        grad = X.T @ (p - y) / len(y) + l2 * w
        hess = (X * (p * (1 - p))[:, None]).T @ X / len(y) + l2 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return Calibrator("platt", a=float(w[0]), b=float(w[1]))


def fit_isotonic(logits, labels):
    """Pool adjacent violators over the examples sorted by logit."""
    order = np.argsort(logits, kind="mergesort")
    z = np.asarray(logits, np.float64)[order]
    y = np.asarray(labels, np.float64)[order]
    # Blocks as (sum of labels, sum of logits, count); merge while a block's mean is not
    # above the previous block's.
    sums, zsums, counts = [], [], []
    for zi, yi in zip(z, y):
        sums.append(yi)
        zsums.append(zi)
        counts.append(1)
        while len(sums) > 1 and sums[-2] / counts[-2] >= sums[-1] / counts[-1]:
            s, zs, c = sums.pop(), zsums.pop(), counts.pop()
            sums[-1] += s
            zsums[-1] += zs
            counts[-1] += c
    x, v, n = [], [], []
    for s, zs, c in zip(sums, zsums, counts):
        if x and zs / c <= x[-1]:  # tied logits split over two blocks: one knot
            total = n[-1] + c
            v[-1] = (v[-1] * n[-1] + s) / total
            n[-1] = total
            continue
        x.append(zs / c)
        v.append(s / c)
        n.append(c)
    return Calibrator("isotonic", x=[float(a) for a in x], y=[float(b) for b in v])


def reliability(labels, probs, buckets=10):
    """ECE and, per equal-width bucket of predicted probability, the examples, the mean
    prediction, the observed rate and predicted/observed (None where nothing was observed)."""
    labels = np.asarray(labels, np.float64)
    probs = np.asarray(probs, np.float64)
    index = np.clip((probs * buckets).astype(int), 0, buckets - 1)
    rows, ece = [], 0.0
    for b in range(buckets):
        sel = index == b
        n = int(sel.sum())
        if not n:
            continue
        predicted, observed = float(probs[sel].mean()), float(labels[sel].mean())
        ece += n / len(labels) * abs(predicted - observed)
        rows.append({"bucket": [b / buckets, (b + 1) / buckets], "examples": n,
                     "predicted": predicted, "observed": observed,
                     "ratio": predicted / observed if observed > 0 else None})
    return {"ece": float(ece), "predicted_over_observed": float(probs.sum() / labels.sum())
            if labels.sum() else None, "logloss": metrics.logloss(labels, probs),
            "auc": metrics.auc(labels, probs), "buckets": rows}


def split_logits(model, schema, cfg, data_dir, part):
    """(logits, labels) of one half of the eval split: part 0 fits, part 1 reports."""
    pattern = os.path.join(data_dir, cfg.data.eval_pattern)
    names = model.feature_names + [cfg.task.label]
    ds = tf.data.TFRecordDataset(list_files(pattern)).shard(2, part).batch(cfg.eval.batch_size)
    ds = ds.map(lambda s: parse_batch(schema, s, names=names))
    logit_fn = tf.function(lambda f: tf.cast(model(f, training=False), tf.float32),
                           autograph=False)
    logits, labels = [], []
    for features, batch_labels in ds:
        logits.append(logit_fn(features).numpy())
        labels.append(batch_labels[cfg.task.label].numpy())
    return np.concatenate(logits), np.concatenate(labels)


def calibrate(model, schema, cfg, data_dir, method, model_dir):
    """Fits `method` on the fitting half, reports before/after on the other, saves the
    calibrator and the reliability diagram in model_dir. Returns the report."""
    if model.task != "ranking":
        raise ValueError(f"--calibrate applies to ranking models; {cfg.model_name} is "
                         f"{model.task}")
    fit_logits, fit_labels = split_logits(model, schema, cfg, data_dir, 0)
    logits, labels = split_logits(model, schema, cfg, data_dir, 1)
    calibrator = fit(method, fit_logits, fit_labels)
    before = reliability(labels, 1 / (1 + np.exp(-logits.astype(np.float64))))
    after = reliability(labels, calibrator.apply_np(logits))
    save(model_dir, calibrator)
    png = os.path.join(model_dir, "reliability.png")
    reliability_diagram(png, before, after)
    return {"method": method, "fit_examples": int(len(fit_labels)),
            "report_examples": int(len(labels)), "before": before, "after": after,
            "calibrator": dataclasses.asdict(calibrator), "plot": png}


def reliability_diagram(path, before, after):
    """Observed rate (y) against mean predicted probability (x) per bucket, both axes [0, 1]:
    grey diagonal = perfect calibration, red = before, blue = after calibration. The axes
    stretch to the largest probability seen, so that low click rates are not a dot."""
    from garden.plot import Canvas
    top = max([r["predicted"] for r in before["buckets"] + after["buckets"]] +
              [r["observed"] for r in before["buckets"] + after["buckets"]] + [0.05])
    top = min(1.0, top * 1.1)
    canvas = Canvas(x_range=(0, top), y_range=(0, top))
    canvas.axes()
    canvas.line([0, top], [0, top], (170, 170, 170))
    for report, color in ((before, (214, 39, 40)), (after, (31, 119, 180))):
        xs = [r["predicted"] for r in report["buckets"]]
        ys = [r["observed"] for r in report["buckets"]]
        canvas.line(xs, ys, color, width=2)
        canvas.dots(xs, ys, color, radius=3)
    canvas.save(path)


def calibrated_outputs(model, calibrator):
    """Serving outputs with the calibrator baked in."""
    def outputs(features):
        logits = tf.cast(model(features, training=False), tf.float32)
        return {"probability": calibrator.apply_tf(logits),
                "uncalibrated_probability": tf.sigmoid(logits)}
    return outputs


def save(model_dir, calibrator):
    atomic_write_text(os.path.join(model_dir, FILE),
                      json.dumps(dataclasses.asdict(calibrator), indent=2))


def load(model_dir):
    """The calibrator saved in model_dir, or None."""
    path = os.path.join(model_dir, FILE)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return Calibrator(**json.load(f))


def format_report(report):
    lines = [f"Calibration ({report['method']}; fitted on {report['fit_examples']} eval "
             f"examples, reported on {report['report_examples']} others):"]
    for when in ("before", "after"):
        r = report[when]
        lines.append(f"  {when:<7} ECE {r['ece']:.4f}  predicted/observed "
                     f"{r['predicted_over_observed']:.3f}  logloss {r['logloss']:.4f}")
        lines.append("    " + "  ".join(
            f"[{b['bucket'][0]:.1f},{b['bucket'][1]:.1f}) n={b['examples']} "
            f"{b['ratio']:.2f}" if b["ratio"] is not None else
            f"[{b['bucket'][0]:.1f},{b['bucket'][1]:.1f}) n={b['examples']} -"
            for b in r["buckets"]))
    lines.append(f"  reliability diagram: {report['plot']}")
    return "\n".join(lines)
