"""Offline metrics on numpy arrays: AUC, log loss, GAUC, and full-corpus retrieval metrics."""
import numpy as np


def auc(labels, scores):
    """Area under the ROC curve, ties scored half (Mann-Whitney U). NaN if one class only."""
    labels = np.asarray(labels) > 0.5
    scores = np.asarray(scores, np.float64)
    n_pos = labels.sum()
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    _, first, counts = np.unique(scores[order], return_index=True, return_counts=True)
    ranks = np.empty(len(scores))
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)  # average rank of each tie
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def logloss(labels, probs, eps=1e-7):
    p = np.clip(np.asarray(probs, np.float64), eps, 1 - eps)
    y = np.asarray(labels, np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def gauc(labels, scores, groups):
    """Per-group AUC weighted by the group's impressions; groups whose labels are all equal
    are left out (their AUC is undefined)."""
    labels, scores, groups = map(np.asarray, (labels, scores, groups))
    order = np.argsort(groups, kind="mergesort")
    bounds = np.flatnonzero(np.diff(groups[order])) + 1
    total, weight = 0.0, 0
    for idx in np.split(order, bounds):
        y = labels[idx] > 0.5
        if y.all() or not y.any():
            continue
        total += auc(y, scores[idx]) * len(idx)
        weight += len(idx)
    return total / weight if weight else float("nan")


def retrieval_metrics(ranks, groups, ks, prefix=""):
    """HR@K, Recall@K, NDCG@K and MRR from the 1-based rank of each query's target.

    HR@K: share of queries whose target is in the top K. Recall@K: per group (user), the share
    of its queries' targets found in the top K, averaged over groups (with one query per user
    it equals HR@K). NDCG@K: 1/log2(rank + 1) when rank <= K (one relevant item per query).
    MRR: mean of 1/rank over the full corpus.
    """
    ranks = np.asarray(ranks, np.float64)
    groups = np.asarray(groups)
    out = {}
    _, group_index = np.unique(groups, return_inverse=True)
    per_group_count = np.bincount(group_index)
    for k in ks:
        hit = ranks <= k
        out[f"{prefix}hr@{k}"] = float(hit.mean())
        out[f"{prefix}recall@{k}"] = float(np.mean(np.bincount(group_index, weights=hit)
                                                   / per_group_count))
        out[f"{prefix}ndcg@{k}"] = float(np.mean(np.where(hit, 1.0 / np.log2(ranks + 1), 0.0)))
    out[f"{prefix}mrr"] = float(np.mean(1.0 / ranks))
    return out


def popularity_ranks(counts, targets):
    """1-based rank of each target when items are ordered by count (ties: optimistic)."""
    counts = np.asarray(counts, np.float64).copy()
    counts[0] = -1  # padding never ranks
    sorted_counts = np.sort(counts)
    return len(counts) - np.searchsorted(sorted_counts, counts[targets], side="right") + 1


def tail_items(counts, head_share=0.2):
    """Bool per item id: True for tail items, those outside the `head_share` most popular
    items by training count (ties: the lower id is more popular; id 0, padding, is not an
    item; items never seen in training are tail)."""
    counts = np.asarray(counts, np.float64)
    n_head = int(np.ceil(head_share * (len(counts) - 1)))
    order = np.argsort(-counts[1:], kind="stable") + 1
    tail = np.ones(len(counts), bool)
    tail[order[:n_head]] = False
    tail[0] = False
    return tail


def tail_recall(ranks, groups, targets, counts, ks, head_share=0.2, prefix=""):
    """Recall@K restricted to the queries whose target is a tail item (see tail_items):
    per group (user), the share of its tail-target queries found in the top K of the full
    corpus, averaged over the groups that have one. It asks whether a model retrieves the
    long tail or only the popular head. Also returns `tail_share`, the share of queries with
    a tail target. NaN when there is none."""
    tail = tail_items(counts, head_share)[np.asarray(targets)]
    out = {f"{prefix}tail_share": float(tail.mean())}
    for k in ks:
        if not tail.any():
            out[f"{prefix}tail_recall@{k}"] = float("nan")
            continue
        values = retrieval_metrics(np.asarray(ranks)[tail], np.asarray(groups)[tail], [k])
        out[f"{prefix}tail_recall@{k}"] = values[f"recall@{k}"]
    return out
