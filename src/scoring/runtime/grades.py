"""The 0-100 score and the A-D grade of a calibrated probability: the same across retrains."""

from __future__ import annotations

import numpy as np

# score = 100 * sqrt(p): 10 -> 1%, 30 -> 9%, 50 -> 25%, 70 -> 49%.
GRADE_BANDS = (("A", 50.0), ("B", 30.0), ("C", 15.0), ("D", 0.0))


def score_from_probability(probability) -> np.ndarray:
    """The 0-100 score: monotone in the calibrated probability and the same across retrains."""
    return np.round(100 * np.sqrt(np.clip(np.asarray(probability, dtype=float), 0, 1)), 1)


def probability_from_score(score) -> np.ndarray:
    """Inverse of score_from_probability."""
    return (np.asarray(score, dtype=float) / 100) ** 2


def grade(score) -> np.ndarray:
    """A-D from fixed score bands (A: 50+, B: 30-49, C: 15-29, D: under 15)."""
    score = np.asarray(score, dtype=float)
    out = np.full(score.shape, "D", dtype=object)
    for letter, floor in reversed(GRADE_BANDS):
        out[score >= floor] = letter
    return out
