"""The vectorised bootstrap equals one library call per resample."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from scoring.core import stats
from scoring.model import evaluate, thresholds


@pytest.fixture
def sample():
    rng = np.random.default_rng(0)
    label = (rng.random(300) < 0.2).astype(int)
    # Rounded scores make many ties, the case where shortcuts go wrong.
    score = np.round(rng.random(300) * 0.5 + 0.4 * label, 1)
    probability = np.clip(rng.random(300) * 0.3 + 0.5 * label, 0, 1)
    indices = stats.resample_indices(len(label), 40, np.random.default_rng(1))
    return label, score, probability, indices


def test_resample_matrix_is_the_per_sample_stream():
    one = np.random.default_rng(5)
    expected = np.array([one.integers(0, 50, 50) for _ in range(7)])
    assert np.array_equal(stats.resample_indices(50, 7, np.random.default_rng(5)), expected)


def test_counts_blocks_cover_every_resample(monkeypatch, sample):
    *_, indices = sample
    monkeypatch.setattr(stats, "BLOCK_BYTES", 8 * 300 * 3)  # 3 resamples a block
    blocks = list(stats.counts_blocks(indices, 300))
    assert [len(b) for b in blocks] == [3] * 13 + [1]
    counts = np.vstack(blocks)
    assert np.array_equal(counts[5], np.bincount(indices[5], minlength=300))


def test_ranking_metrics_equal_scikit_learn_per_resample(sample):
    label, score, _, indices = sample
    counts = stats.resample_counts(indices, len(label))
    pos, neg = stats.by_score(label, score, counts)
    roc, ap = stats.roc_auc(pos, neg), stats.average_precision(pos, neg)
    for i, rows in enumerate(indices):
        assert roc[i] == pytest.approx(roc_auc_score(label[rows], score[rows]), abs=1e-12)
        assert ap[i] == pytest.approx(average_precision_score(label[rows], score[rows]), abs=1e-12)


def test_one_class_resample_is_nan():
    label = np.array([0, 1, 0])
    counts = np.array([[3.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    pos, neg = stats.by_score(label, np.array([0.1, 0.9, 0.2]), counts)
    assert np.isnan(stats.roc_auc(pos, neg)[0]) and np.isnan(stats.average_precision(pos, neg)[0])
    assert stats.roc_auc(pos, neg)[1] == 1.0


def test_every_evaluation_metric_equals_the_per_resample_path(sample):
    label, score, probability, indices = sample
    tiebreak = np.random.default_rng(2).random(len(label))
    counts = stats.resample_counts(indices, len(label))
    fast = evaluate.bootstrap_metrics(label, score, probability, tiebreak, counts)
    for i, rows in enumerate(indices):
        slow = evaluate.score_metrics(label[rows], score[rows], probability[rows], tiebreak[rows])
        for metric in evaluate.METRICS:
            assert fast[metric][i] == pytest.approx(slow[metric], abs=1e-12), metric


def test_threshold_figures_equal_the_per_resample_path(sample):
    label, _, probability, indices = sample
    counts = stats.resample_counts(indices, len(label))
    fast = thresholds.resampled_figures(probability, label, 0.5, 3.0, counts)
    for i, rows in enumerate(indices):
        slow = thresholds.figures_at(probability[rows], label[rows], 0.5, 3.0)
        for key, value in slow.items():
            assert fast[key][i] == pytest.approx(value, nan_ok=True), key


def test_interval_ignores_nan_and_empty():
    assert stats.interval(np.array([np.nan, 1.0, np.nan])) == (1.0, 1.0)
    assert np.isnan(stats.interval(np.array([]))[0])
    assert stats.interval(np.arange(101.0)) == (2.5, 97.5)


def test_single_sample_auc_equals_scikit_learn(sample):
    label, score, probability, _ = sample
    for values in (score, probability, -score):
        assert stats.auc(label, values) == pytest.approx(roc_auc_score(label, values), abs=1e-12)
