"""Trains every model of a family on the same synthetic data and budget; prints a table.

    python tools/quality_table.py [--family=ranking|retrieval] [--num_examples=300000]
        [--epochs=1] [--batch_size=0] [--models=deepfm,...] [--no_variants]

Each row is one run of garden.train.train with the model's default experiment, except that the
data, the number of epochs and the batch size are the same for every row. The rows are every
model the registry holds for the family (so models added later appear without editing this
file), then model variants (a model with a params override): see VARIANTS. A model that fails
gets a row saying so, the other rows still run, and the exit status is 1.
"""
import argparse
import os
import sys
import tempfile
import traceback

import garden  # noqa: F401  (Keras 2 before TensorFlow loads)

from garden import config, data, registry, train

# Extra rows: (row label, registered model, params_override).
VARIANTS = {
    "ranking": [
        ("dcn_v2 (low-rank, parallel)", "dcn_v2",
         "model.cross=low_rank,model.structure=parallel"),
        ("dcn_v2 (DCN-Mix)", "dcn_v2", "model.cross=mix"),
        ("pnn (OPNN)", "pnn", "model.product=outer"),
        ("pnn (PNN*)", "pnn", "model.product=both"),
        ("wdl (crosses age:price_bucket, gender:cat_id, city:shop_id)", "wdl",
         "model.wide_crosses=[age:price_bucket, gender:cat_id, city:shop_id]"),
    ],
    "retrieval": [
        ("youtube_dnn / nce", "youtube_dnn", "model.head=nce"),
        ("youtube_dnn / full softmax", "youtube_dnn", "model.head=full_softmax"),
        ("youtube_dnn / unigram sampler", "youtube_dnn", "model.sampler=unigram"),
        ("two_tower / in-batch, no logQ", "two_tower", "model.logq_correction=false"),
        ("two_tower / in-batch, hits kept", "two_tower", "model.remove_accidental_hits=false"),
        ("two_tower / mixed negatives", "two_tower", "model.head=mixed"),
        ("two_tower / full softmax", "two_tower", "model.head=full_softmax"),
        ("mind / full softmax", "mind", "model.head=full_softmax"),
    ],
}

COLUMNS = {
    "ranking": [("AUC", "auc"), ("logloss", "logloss"), ("GAUC", "gauc"),
                ("gap to oracle AUC", "oracle_gap"), ("train ex/s", "examples_per_second")],
    "retrieval": [("HR@50", "hr@50"), ("Recall@50", "recall@50"), ("NDCG@50", "ndcg@50"),
                  ("MRR", "mrr"), ("tail Recall@50", "tail_recall@50"),
                  ("train ex/s", "examples_per_second")],
}


def rows(family, models, variants=True):
    """(label, model, params_override) per row: `models` (default: every registered model of
    the family), then the variants of those models."""
    registered = registry.list_models(family)
    unknown = [m for m in models if m not in registered]
    if unknown:
        raise ValueError(f"--models: {unknown} are not registered {family} models; "
                         f"registered: {registered}")
    names = models or registered
    out = [(name, name, "") for name in names]
    if variants:
        out += [v for v in VARIANTS[family] if v[1] in names]
    return out


def run_row(model, override, data_dir, epochs, batch_size, model_dir):
    overrides = {"data.data_dir": data_dir, "train.epochs": epochs}
    if batch_size:
        overrides["train.batch_size"] = batch_size
    cfg = config.resolve(model, params_override=override, overrides=overrides)
    result = train.train(cfg, model_dir, log=lambda *a: None)
    values = dict(result["eval"])
    values["examples_per_second"] = result["train"]["examples_per_second"]
    if "oracle_auc" in values and "auc" in values:
        values["oracle_gap"] = values["oracle_auc"] - values["auc"]
    return values


def format_table(family, results, baseline):
    headers = ["model"] + [h for h, _ in COLUMNS[family]]
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    for label, values in results:
        if "error" in values:
            lines.append(f"| {label} | failed: {values['error']} |")
            continue
        cells = [label]
        for _, key in COLUMNS[family]:
            value = values.get(key)
            if not isinstance(value, (int, float)):  # missing (another task's metrics)
                value = None
            cells.append("" if value is None else f"{value:,.0f}" if key ==
                         "examples_per_second" else f"{value:.4f}")
        lines.append("| " + " | ".join(cells) + " |")
    if baseline:
        lines.append("| " + " | ".join([baseline[0]] + baseline[1]) + " |")
    return "\n".join(lines)


def baseline_row(family, results):
    """The popularity row, from the first result that carries the baseline's metrics (a
    multi-task model may report other keys); None if none does."""
    needed = ("popularity_auc", "oracle_auc") if family == "ranking" else ("popularity_mrr",)
    found = [v for _, v in results if all(k in v for k in needed)]
    if not found:
        return None
    values = found[0]
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
    parser.add_argument("--no_variants", action="store_true", help="registered models only")
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    try:
        table_rows = rows(args.family, models, not args.no_variants)
    except ValueError as e:
        sys.exit(f"error: {e}")
    data_dir = data.synthetic_dir(args.num_examples, args.seed)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, model, override) in enumerate(table_rows):
            print(f"training {label} ...", flush=True)
            try:
                values = run_row(model, override, data_dir, args.epochs, args.batch_size,
                                 os.path.join(tmp, f"row{i}"))
            except Exception as e:  # noqa: BLE001  (one broken model must not hide the rest)
                traceback.print_exc()
                values = {"error": f"{type(e).__name__}: {e}".replace("|", "/")
                                    .replace("\n", " ")[:200]}
            print(f"  {values}", flush=True)
            results.append((label, values))
    print(f"\nsynthetic world: {args.num_examples} examples, seed {args.seed}; "
          f"{args.epochs} epoch(s) per model")
    print(format_table(args.family, results, baseline_row(args.family, results)))
    if any("error" in v for _, v in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
