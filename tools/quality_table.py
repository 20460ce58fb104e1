"""Trains every model of a family on the same synthetic data and budget; prints a table.

    python tools/quality_table.py [--family=ranking|retrieval] [--num_examples=300000]
        [--epochs=1] [--models=deepfm,...] [--markdown]

Each row is one run of garden.train.train with the model's default experiment, except that the
data, the number of epochs and the batch size are the same for every row. Rows can be model
variants (a model with a params override, e.g. another retrieval head): see VARIANTS.
"""
import argparse
import os
import tempfile

import garden  # noqa: F401  (Keras 2 before TensorFlow loads)

from garden import config, data, registry, train

# Extra rows: (row label, registered model, params_override).
VARIANTS = {"ranking": [], "retrieval": [
    ("youtube_dnn / nce", "youtube_dnn", "model.head=nce"),
    ("youtube_dnn / full softmax", "youtube_dnn", "model.head=full_softmax"),
    ("youtube_dnn / unigram sampler", "youtube_dnn", "model.sampler=unigram"),
    ("two_tower / in-batch, no logQ", "two_tower", "model.logq_correction=false"),
    ("two_tower / in-batch, hits kept", "two_tower", "model.remove_accidental_hits=false"),
    ("two_tower / mixed negatives", "two_tower", "model.head=mixed"),
    ("two_tower / full softmax", "two_tower", "model.head=full_softmax"),
    ("mind / full softmax", "mind", "model.head=full_softmax"),
]}

COLUMNS = {
    "ranking": [("AUC", "auc"), ("logloss", "logloss"), ("GAUC", "gauc"),
                ("gap to oracle AUC", "oracle_gap"), ("train ex/s", "examples_per_second")],
    "retrieval": [("HR@50", "hr@50"), ("Recall@50", "recall@50"), ("NDCG@50", "ndcg@50"),
                  ("MRR", "mrr"), ("tail Recall@50", "tail_recall@50"),
                  ("train ex/s", "examples_per_second")],
}


def rows(family, models):
    names = models or registry.list_models(family)
    out = [(name, name, "") for name in names]
    out += [v for v in VARIANTS[family] if not models or v[1] in models]
    return out


def run_row(model, override, data_dir, epochs, batch_size, model_dir):
    overrides = {"data.data_dir": data_dir, "train.epochs": epochs}
    if batch_size:
        overrides["train.batch_size"] = batch_size
    cfg = config.resolve(model, params_override=override, overrides=overrides)
    result = train.train(cfg, model_dir, log=lambda *a: None)
    values = dict(result["eval"])
    values["examples_per_second"] = result["train"]["examples_per_second"]
    if "oracle_auc" in values:
        values["oracle_gap"] = values["oracle_auc"] - values["auc"]
    return values


def format_table(family, results, baseline):
    headers = ["model"] + [h for h, _ in COLUMNS[family]]
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    for label, values in results:
        cells = [label]
        for _, key in COLUMNS[family]:
            value = values.get(key)
            cells.append("" if value is None else f"{value:,.0f}" if key ==
                         "examples_per_second" else f"{value:.4f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("| " + " | ".join([baseline[0]] + baseline[1]) + " |")
    return "\n".join(lines)


def baseline_row(family, values):
    if family == "ranking":
        return ("popularity (item CTR)", [f"{values['popularity_auc']:.4f}", "", "",
                                          f"{values['oracle_auc'] - values['popularity_auc']:.4f}",
                                          ""])
    return ("popularity", [f"{values[f'popularity_{k}']:.4f}" for k in
                           ("hr@50", "recall@50", "ndcg@50", "mrr", "tail_recall@50")]
            + [""])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", default="ranking", choices=["ranking", "retrieval"])
    parser.add_argument("--num_examples", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch_size", type=int, default=0, help="0: each model's default")
    parser.add_argument("--models", default="", help="comma-separated subset")
    args = parser.parse_args()
    data_dir = data.synthetic_dir(args.num_examples, args.seed)
    models = [m for m in args.models.split(",") if m]
    results, last = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for label, model, override in rows(args.family, models):
            print(f"training {label} ...", flush=True)
            last = run_row(model, override, data_dir, args.epochs, args.batch_size,
                           os.path.join(tmp, label.replace("/", "_")))
            results.append((label, last))
    print(f"\nsynthetic world: {args.num_examples} examples, seed {args.seed}; "
          f"{args.epochs} epoch(s) per model")
    print(format_table(args.family, results, baseline_row(args.family, last)))


if __name__ == "__main__":
    main()
