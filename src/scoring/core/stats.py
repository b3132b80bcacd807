"""The one bootstrap: a resampling matrix shared by every metric and scorer, and metrics computed
for all resamples at once from per-row counts instead of one library call per resample.

A resample draws n row indices with replacement; what every metric here needs is how many times
each row was drawn (its count), so each metric is a weighted sum over rows, computed for a block
of resamples as one matrix operation. Ranking metrics sort the rows once; ties keep the same
semantics as scikit-learn (ROC-AUC counts a tie as half; average precision steps at each
distinct score).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

# Resamples per block: bounds memory at BLOCK x rows x 8 bytes per matrix.
BLOCK_BYTES = 64 * 2**20


def resample_indices(n: int, samples: int, rng: np.random.Generator) -> np.ndarray:
    """samples x n row indices drawn with replacement (the same stream as one draw per sample)."""
    return rng.integers(0, n, (samples, n)) if samples else np.empty((0, n), dtype=np.int64)


def test_draws(n: int, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(tie-break, resample indices) of a test window of n rows: every figure reported on test
    with an interval (metrics.json, the point rules) is drawn from these same resamples."""
    rng = np.random.default_rng(seed)
    tiebreak = rng.random(n)
    return tiebreak, resample_indices(n, samples, rng)


def counts_blocks(indices: np.ndarray, n: int) -> Iterator[np.ndarray]:
    """How many times each row was drawn, per resample, in blocks of rows x n (float64)."""
    step = max(1, BLOCK_BYTES // max(8 * n, 1))
    for start in range(0, len(indices), step):
        block = indices[start : start + step]
        offsets = (np.arange(len(block)) * n)[:, None]
        flat = np.bincount((block + offsets).ravel(), minlength=len(block) * n)
        yield flat.reshape(len(block), n).astype(np.float64)


def resample_counts(indices: np.ndarray, n: int) -> np.ndarray:
    """Every resample's row counts as one samples x n matrix."""
    blocks = list(counts_blocks(indices, n))
    return np.vstack(blocks) if blocks else np.empty((0, n))


def _groups(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row order by descending score, and where each run of equal scores starts in it."""
    order = np.argsort(-score, kind="mergesort")
    ordered = score[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return order, starts


def by_score(
    label: np.ndarray, score: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted positives and negatives per distinct score (descending), per resample: what
    both ranking metrics are computed from (compute once, pass to roc_auc and average_precision).
    """
    order, starts = _groups(score)
    weights = counts[:, order]
    positive = label[order].astype(bool)
    pos = np.add.reduceat(np.where(positive, weights, 0.0), starts, axis=1)
    neg = np.add.reduceat(np.where(positive, 0.0, weights), starts, axis=1)
    return pos, neg


def roc_auc(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """ROC-AUC of each resample from `by_score` (NaN when a resample holds one class)."""
    total_pos, total_neg = pos.sum(axis=1), neg.sum(axis=1)
    lower_neg = total_neg[:, None] - np.cumsum(neg, axis=1)
    wins = (pos * (lower_neg + 0.5 * neg)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = wins / (total_pos * total_neg)
    return np.where((total_pos > 0) & (total_neg > 0), out, np.nan)


def auc(label: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC of one sample (ties count half), without scikit-learn's per-call checks: the
    leakage scan calls it once per column."""
    counts = np.ones((1, len(label)))
    return float(roc_auc(*by_score(np.asarray(label), np.asarray(score, dtype=float), counts))[0])


def average_precision(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Average precision of each resample from `by_score`, stepping at each distinct score
    like scikit-learn (NaN when a resample holds one class)."""
    cum_pos, cum_all = np.cumsum(pos, axis=1), np.cumsum(pos + neg, axis=1)
    total_pos = cum_pos[:, -1] if pos.shape[1] else np.zeros(len(pos))
    total = cum_all[:, -1] if pos.shape[1] else np.zeros(len(pos))
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(cum_all > 0, cum_pos / cum_all, 0.0)
        out = (pos * precision).sum(axis=1) / total_pos
    return np.where((total_pos > 0) & (total_pos < total), out, np.nan)


def top_share_hits(
    label: np.ndarray, order: np.ndarray, counts: np.ndarray, shares: tuple[float, ...]
) -> list[tuple[np.ndarray, int]]:
    """Per share: conversions among the top `share` of each resample's rows (rows ranked by
    `order`), and how many rows that top holds."""
    n = len(label)  # a resample has as many rows as the sample
    ranked = counts[:, order]
    before = np.cumsum(ranked, axis=1) - ranked
    ranked_label = label[order].astype(np.float64)
    out = []
    for share in shares:
        k = max(1, round(share * n))
        taken = np.clip(k - before, 0.0, ranked)
        out.append((taken @ ranked_label, k))
    return out


def interval(draws: np.ndarray) -> tuple[float, float]:
    """The 95% percentile interval of bootstrap draws, NaN draws left out."""
    draws = np.asarray(draws, dtype=float)
    draws = draws[~np.isnan(draws)]
    if not len(draws):
        return np.nan, np.nan
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(low), float(high)
