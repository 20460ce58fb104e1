"""What logQ correction does to two-tower in-batch softmax, against full softmax.

    python tools/logq_study.py [--seeds=1,2] [--num_examples=300000] [--k=50]

Trains two_tower with its default experiment four ways on the same synthetic world:
full softmax over the corpus (the unbiased reference), in-batch softmax without and with the
logQ correction, and mixed negatives (in-batch + uniform) with it. Per run it prints HR@K,
Recall@K and tail Recall@K (garden.evaluate), two other readings of tail recall (per example;
per tail item, each item once), where the retrieved items sit in popularity (the mean
training-popularity rank of the top-K items, 1 = most popular, and the share of them in the
tail, beside the same for the test targets) and, for logQ runs, how the frequency
estimator's per-step estimates compare with the true expected appearances per batch
(batch_size x count / training examples).

Why: uncorrected in-batch softmax is a sampled softmax whose proposal is the item
popularity, left uncorrected; it learns roughly log p(item | user) - log p(item), so it
under-scores popular items and retrieves the tail more than the true conditional would. The
correction removes that bias, so its retrieved popularity (and tail recall) should move
toward full softmax's, with HR@K rising.
"""
import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import garden  # noqa: E402,F401  (Keras 2 before TensorFlow loads)
import tensorflow as tf  # noqa: E402

from garden import config, metrics, train  # noqa: E402
from garden.evaluate import item_counts, load_trained  # noqa: E402
from input.reader import make_dataset  # noqa: E402

# (label, params_override of the two_tower default experiment)
VARIANTS = [
    ("full softmax", "model.head=full_softmax"),
    ("in-batch, no logQ", "model.logq_correction=false"),
    ("in-batch + logQ", "model.logq_correction=true"),
    ("mixed + logQ", "model.head=mixed,model.logq_correction=true"),
]


def popularity_profile(model, cfg, schema, data_dir, k=50):
    """Where the model's top-k and the test targets sit in training popularity, and tail
    recall read per example and per tail item (see the module docstring)."""
    item = cfg.task.item
    counts, _ = item_counts(schema, os.path.join(data_dir, cfg.data.train_pattern), item)
    pop_rank = metrics.popularity_ranks(counts, np.arange(len(counts)))
    tail = metrics.tail_items(counts)

    @tf.function
    def top_and_rank(features):
        scores = model.scores(features)
        target = tf.gather(scores, features[item], batch_dims=1)
        rank = 1 + tf.reduce_sum(tf.cast(scores > target[:, None], tf.int32), axis=1)
        return tf.math.top_k(scores, k=k).indices, rank

    retrieved, ranks, targets = [], [], []
    dataset = make_dataset(schema, os.path.join(data_dir, cfg.data.eval_pattern),
                           cfg.eval.batch_size, training=False)
    for features, _ in dataset:
        top, rank = top_and_rank(features)
        retrieved.append(top.numpy())
        ranks.append(rank.numpy())
        targets.append(features[item].numpy())
    retrieved, ranks, targets = map(np.concatenate, (retrieved, ranks, targets))
    hit = ranks <= k
    tail_target = tail[targets]
    per_item = [hit[targets == i].mean() for i in np.unique(targets[tail_target])]
    return {
        f"retrieved_pop_rank@{k}": float(pop_rank[retrieved].mean()),
        "target_pop_rank": float(pop_rank[targets].mean()),
        f"retrieved_tail_share@{k}": float(tail[retrieved].mean()),
        "target_tail_share": float(tail_target.mean()),
        f"tail_hr@{k}": float(hit[tail_target].mean()),
        f"tail_item_recall@{k}": float(np.mean(per_item)),
        f"head_hr@{k}": float(hit[~tail_target].mean()),
    }


def estimator_check(model, cfg, schema, data_dir):
    """The trained head's FrequencyEstimator against the true expected appearances of each
    item in a training batch: batch_size x count / training examples. Returns the median
    estimate/true ratio over head and tail items seen in training, and the correlation of
    the logs (items weighted equally)."""
    counts, _ = item_counts(schema, os.path.join(data_dir, cfg.data.train_pattern),
                            cfg.task.item)
    ids = np.nonzero(counts)[0]
    true = cfg.train.batch_size * counts[ids] / counts.sum()
    estimate = model.head.estimator(tf.constant(ids, tf.int64)).numpy()
    ratio = estimate / true
    tail = metrics.tail_items(counts)[ids]
    return {"estimator_head_ratio": float(np.median(ratio[~tail])),
            "estimator_tail_ratio": float(np.median(ratio[tail])),
            "estimator_log_corr": float(np.corrcoef(np.log(estimate), np.log(true))[0, 1]),
            "estimator_steps": int(model.head.estimator.step.numpy())}


def study_run(override, seed, model_dir, num_examples=300_000, k=50):
    """Trains one variant, returns its eval metrics plus popularity_profile (and
    estimator_check when it uses the logQ correction)."""
    cfg = config.resolve("two_tower", params_override=override,
                         overrides={"train.seed": seed, "data.synthetic_examples": num_examples})
    result = dict(train.train(cfg, model_dir, log=lambda *a: None)["eval"])
    cfg, schema, data_dir, model = load_trained(model_dir, log=lambda *a: None)
    result.update(popularity_profile(model, cfg, schema, data_dir, k))
    if model.head.estimator is not None:
        result.update(estimator_check(model, cfg, schema, data_dir))
    return result


COLUMNS = ["hr@{k}", "recall@{k}", "tail_recall@{k}", "tail_hr@{k}", "tail_item_recall@{k}",
           "head_hr@{k}", "retrieved_pop_rank@{k}", "retrieved_tail_share@{k}"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--num_examples", type=int, default=300_000)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--variants", default="", help="comma-separated indices into VARIANTS")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    chosen = [VARIANTS[int(i)] for i in args.variants.split(",")] if args.variants \
        else VARIANTS
    columns = [c.format(k=args.k) for c in COLUMNS]
    print("| variant | seed | " + " | ".join(columns) + " | estimator head / tail ratio |")
    print("|---" * (len(columns) + 3) + "|")
    means = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, override in chosen:
            for seed in seeds:
                r = study_run(override, seed, os.path.join(tmp, f"{len(means)}-{seed}"),
                              args.num_examples, args.k)
                means.setdefault(label, []).append(r)
                est = (f"{r['estimator_head_ratio']:.2f} / {r['estimator_tail_ratio']:.2f} "
                       f"(log corr {r['estimator_log_corr']:.2f})"
                       if "estimator_head_ratio" in r else "")
                print(f"| {label} | {seed} | " + " | ".join(
                    f"{r[c]:.1f}" if "pop_rank" in c else f"{r[c]:.3f}" for c in columns)
                    + f" | {est} |", flush=True)
        target = means[chosen[0][0]][0]
        print(f"\ntest targets: mean popularity rank {target['target_pop_rank']:.1f}, "
              f"tail share {target['target_tail_share']:.3f}")
        print("\nmeans over seeds:")
        for label, runs in means.items():
            print(f"| {label} | mean | " + " | ".join(
                f"{np.mean([r[c] for r in runs]):.3f}" for c in columns) + " |")


if __name__ == "__main__":
    main()
