"""Calibration: a model's log-odds turned into probabilities that mean what they say.

Isotonic or Platt's sigmoid, chosen by cross-validated log loss; fitted by one builder
(fit_calibrator) wherever training calibrates (models, blends, today's rules). An any-age
model is then shifted by lead age (fit_age_offsets): one calibrator for every age leaves
some ages under- or over-predicted, and the daily queue needs each age to mean what it says.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline

from scoring.runtime.artifact import logit, shift_by_age

# An age's offset is shrunk towards 0 by conversions / (conversions + this): an age with few
# conversions says little about its calibration (20 conversions: the offset is halved).
AGE_OFFSET_PRIOR = 20
# Offsets beyond this many log-odds would mean the model is broken at that age, not shifted.
AGE_OFFSET_LIMIT = 3.0


def select_calibrated(
    model: Pipeline, X_valid: pd.DataFrame, y_valid: pd.Series, seed: int
) -> tuple[CalibratedClassifierCV, str]:
    """Isotonic or sigmoid calibration, whichever has the lower cross-validated log loss on
    validation; then fitted on all of validation."""
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    # The cross-validation only chooses the method. It scores the final step on validation
    # features transformed once: the same numbers as the whole pipeline (its steps work row by
    # row), without 20 more transforms, which dominate on wide exports.
    prep, final = model[:-1], model[-1]
    transformed = prep.transform(X_valid)
    scores = {}
    for method in ("isotonic", "sigmoid"):
        candidate = CalibratedClassifierCV(FrozenEstimator(final), method=method)
        scores[method] = cross_val_score(
            candidate, transformed, y_valid, cv=folds, scoring="neg_log_loss"
        ).mean()
    method = max(scores, key=scores.get)
    calibrated = CalibratedClassifierCV(FrozenEstimator(model), method=method)
    return calibrated.fit(X_valid, y_valid), method


class PlattCalibration:
    """Platt's sigmoid on log-odds, p = 1 / (1 + exp(a * x + b)), fitted with his smoothed
    targets (as scikit-learn's sigmoid calibration): a_ and b_ are what the artifact stores."""

    def fit(self, raw: np.ndarray, label: np.ndarray) -> PlattCalibration:
        positives = float(label.sum())
        negatives = len(label) - positives
        target = np.where(label == 1, (positives + 1) / (positives + 2), 1 / (negatives + 2))

        def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
            p = expit(-(ab[0] * raw + ab[1]))
            eps = np.finfo(float).tiny
            value = -np.sum(target * np.log(p + eps) + (1 - target) * np.log(1 - p + eps))
            gradient = target - p  # d loss / d (a x + b)
            return float(value), np.array([gradient @ raw, gradient.sum()])

        start = np.array([0.0, np.log((negatives + 1) / (positives + 1))])
        fitted = minimize(loss, start, jac=True, method="L-BFGS-B")
        self.a_, self.b_ = float(fitted.x[0]), float(fitted.x[1])
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(self.a_ * np.asarray(raw, dtype=float) + self.b_))


@dataclass
class CalibratedModel:
    """Fitted pipelines whose weighted log-odds one calibrator turns into probabilities: a
    single family (weight 1) or a blend of two. Training fits it, evaluation and explanation
    read it, and the artifact stores its calibration (to_document) for the runtime."""

    pipelines: dict[str, Pipeline]
    weights: dict[str, float]
    method: str
    calibrator: IsotonicRegression | PlattCalibration
    # An any-age model's shift by lead age (runtime.artifact.shift_by_age), or None.
    age_offsets: dict | None = None

    @classmethod
    def single(cls, family: str, pipeline: Pipeline, method: str, calibrator) -> CalibratedModel:
        """One family's pipeline with its calibrator."""
        return cls({family: pipeline}, {family: 1.0}, method, calibrator)

    @property
    def is_blend(self) -> bool:
        return len(self.pipelines) > 1

    @property
    def pipeline(self) -> Pipeline:
        """The fitted pipeline of a single-family model."""
        if self.is_blend:
            raise ValueError(f"a blend of {sorted(self.pipelines)} has no single pipeline")
        return next(iter(self.pipelines.values()))

    def log_odds(
        self, X: pd.DataFrame, computed: dict[int, np.ndarray] | None = None
    ) -> np.ndarray:
        """What the calibrator was fitted on: the members' weighted log-odds. `computed` keeps
        each pipeline's log-odds of X (by id) for other models sharing it."""
        computed = {} if computed is None else computed

        def member(pipeline: Pipeline) -> np.ndarray:
            if id(pipeline) not in computed:
                computed[id(pipeline)] = log_odds(pipeline, X)
            return computed[id(pipeline)]

        if not self.is_blend:
            return member(self.pipeline)
        return sum(w * member(self.pipelines[name]) for name, w in self.weights.items())

    def calibrate(self, raw: np.ndarray, X: pd.DataFrame) -> np.ndarray:
        """Probabilities of log-odds `raw` (of the rows X: their lead age, if the model is
        shifted by age)."""
        probability = np.clip(self.calibrator.predict(raw), 0, 1)
        if self.age_offsets is None:
            return probability
        return shift_by_age(self.age_offsets, probability, X[self.age_offsets["column"]])

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        probability = self.calibrate(self.log_odds(X), X)
        return np.column_stack([1 - probability, probability])

    def to_document(self) -> dict:
        """The calibration as the artifact stores it (runtime.calibration applies it)."""
        if self.method == "isotonic":
            fold = {
                "x": self.calibrator.X_thresholds_.tolist(),
                "y": self.calibrator.y_thresholds_.tolist(),
                "x_min": float(self.calibrator.X_min_),
                "x_max": float(self.calibrator.X_max_),
            }
        elif self.method == "sigmoid":
            fold = {"a": float(self.calibrator.a_), "b": float(self.calibrator.b_)}
        else:
            raise ValueError(f"calibration method {self.method!r} cannot be exported")
        document = {"method": self.method, "folds": [fold]}
        if self.age_offsets is not None:
            document["age_offsets"] = self.age_offsets
        return document


def fit_age_offsets(
    probability: np.ndarray, label: np.ndarray, age: np.ndarray, ages: list[float], column: str
) -> dict:
    """Per training age, the log-odds shift that makes the mean calibrated probability of its
    rows their conversion rate, shrunk towards 0 when the age has few conversions
    (AGE_OFFSET_PRIOR); rows at other ages (comebacks) are left out of the fit."""
    logits = logit(probability)
    offsets = []
    for at in ages:
        rows = np.isclose(age, at)
        conversions = float(label[rows].sum())
        if not rows.any() or conversions == 0 or conversions == rows.sum():
            offsets.append(0.0)
            continue
        rate = conversions / rows.sum()

        def gap(shift: float, rows=rows, rate=rate) -> float:
            return float(expit(logits[rows] + shift).mean() - rate)

        limit = AGE_OFFSET_LIMIT
        if gap(-limit) < 0 < gap(limit):
            shift = brentq(gap, -limit, limit)
        else:
            shift = -limit if gap(-limit) >= 0 else limit
        offsets.append(shift * conversions / (conversions + AGE_OFFSET_PRIOR))
    return {"column": column, "ages": [float(a) for a in ages], "offsets": offsets}


def choose_calibration(raw: np.ndarray, label: np.ndarray, seed: int) -> str:
    """Isotonic or sigmoid for these log-odds, by 5-fold cross-validated log loss."""
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    losses = {}
    for method in ("isotonic", "sigmoid"):
        predicted = np.zeros(len(raw))
        for fit_rows, held in folds.split(raw, label):
            calibrator = fit_calibrator(method, raw[fit_rows], label[fit_rows])
            predicted[held] = calibrator.predict(raw[held])
        losses[method] = log_loss(label, np.clip(predicted, 1e-6, 1 - 1e-6), labels=[0, 1])
    return min(losses, key=losses.get)


def probabilities(models: dict[str, CalibratedModel], X: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each model's probabilities of X; a pipeline shared by several models (a blend's
    members are the single-family models' own) is run once."""
    computed: dict[int, np.ndarray] = {}
    return {name: model.calibrate(model.log_odds(X, computed), X) for name, model in models.items()}


def log_odds(pipeline: Pipeline, X: pd.DataFrame) -> np.ndarray:
    """The uncalibrated model's log-odds: what calibrators are fitted on."""
    model = pipeline.named_steps["model"]
    if isinstance(model, lgb.LGBMClassifier):
        return model.predict(pipeline.named_steps["prep"].transform(X), raw_score=True)
    return pipeline.decision_function(X)


def fit_calibrator(method: str, raw: np.ndarray, label: np.ndarray):
    """Isotonic or sigmoid calibration of log-odds."""
    if method == "isotonic":
        return IsotonicRegression(out_of_bounds="clip").fit(raw, label)
    return PlattCalibration().fit(raw, label)


def fitted_pipeline(model: CalibratedClassifierCV | CalibratedModel) -> Pipeline:
    """The fitted (prep, model) pipeline of a single-family model: ours, or scikit-learn's
    calibrated selection model."""
    if isinstance(model, CalibratedModel):
        return model.pipeline
    inner = model.calibrated_classifiers_[0].estimator
    return inner.estimator if isinstance(inner, FrozenEstimator) else inner
