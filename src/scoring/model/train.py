"""Models against the rule baseline: out-of-time split, leakage guard, fit, calibrate, backtest."""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

import lightgbm as lgb
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from scoring.core import stats
from scoring.core.config import BaselineParams, FeatureParams, ModelParams
from scoring.data.features import LEAD_AGE, Dataset, categorical_columns
from scoring.model import explain, leakage
from scoring.model.any_age import FitRows, ReplayRows, replay_rows, snapshot_fit_rows
from scoring.model.calibration import (
    CalibratedModel,
    choose_calibration,
    fit_age_offsets,
    fit_calibrator,
    fitted_pipeline,
    log_odds,
    probabilities,
    select_calibrated,
)
from scoring.model.splits import Split, split_dataset
from scoring.runtime.rules import points as rule_points

log = logging.getLogger(__name__)

LIGHTGBM_DEFAULTS = {
    "n_estimators": 2000,
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_child_samples": 50,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
}
SEARCH_SPACE = {
    "num_leaves": [7, 15, 31, 63],
    "learning_rate": [0.02, 0.03, 0.05, 0.1],
    "min_child_samples": [20, 50, 100, 200],
    "colsample_bytree": [0.5, 0.8, 1.0],
    "reg_lambda": [0.0, 1.0, 5.0],
}
EARLY_STOPPING_ROUNDS = 100
# Early stopping ranks, it does not measure calibration: log loss on a window whose base rate
# moved stops after a handful of trees.
EARLY_STOPPING_METRIC = "average_precision"
MIN_TREES = 20  # fewer trees than this is reported as a warning
BLEND_WEIGHTS = (0.25, 0.5, 0.75)  # LightGBM's share of a blend's log-odds, tried on validation
CALIBRATION_FOLDS = 5


@dataclass
class TrainingResult:
    """Fitted models, the baseline, the leakage report and everything evaluation needs."""

    models: dict[str, CalibratedModel]
    calibration: dict[str, str]
    lightgbm_params: dict
    best_iteration: int
    feature_columns: list[str]
    leakage: list[leakage.LeakFlag]
    split: Split
    predictions: pd.DataFrame
    validation_pr_auc: dict[str, float]
    chosen_model: str
    baseline_calibrator: IsotonicRegression
    backtest: pd.DataFrame = field(default_factory=pd.DataFrame)
    search_trials: int = 0
    baseline_kind: str = "points rules"
    refit_trees: int = 0  # trees of the LightGBM refitted on train + validation
    fitted_on: str = "train + validation"
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the training stage
    # An any-age model's daily-job replay: every validation and test lead at each age it is
    # open at, with its label then, today's points and each model's probability (validation:
    # out of fold too). Thresholds count an MQL at its first crossing on it.
    replay: pd.DataFrame | None = None


# LightGBM refuses feature names holding JSON's own characters ("Annual Revenue, USD").
_NOT_FOR_LIGHTGBM = re.compile(r'[",:\[\]{}\\]')


def lightgbm_names(columns: list[str]) -> list[str]:
    """Names LightGBM accepts, one per column and all distinct, as close to the user's as can
    be. Only the booster sees them: everything people read keeps the user's names, and the
    runtime reads the booster's features by position."""
    names: list[str] = []
    for column in columns:
        name = _NOT_FOR_LIGHTGBM.sub("_", str(column))
        candidate, n = name, 1
        while candidate in names:
            n += 1
            candidate = f"{name}_{n}"
        names.append(candidate)
    return names


class CategoryEncoder(BaseEstimator, TransformerMixin):
    """Text columns as pandas categories with the levels seen in training (unseen -> missing),
    under names LightGBM accepts (`lightgbm_names`)."""

    def fit(self, X: pd.DataFrame, y=None) -> CategoryEncoder:
        self.columns_ = categorical_columns(X)
        self.levels_ = {c: sorted(X[c].dropna().astype(str).unique()) for c in self.columns_}
        self.feature_names_in_ = np.array(X.columns)
        self.internal_names_ = lightgbm_names(list(X.columns))
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        # A value outside the levels becomes missing. The columns are put back in one concat:
        # assigning them one by one gets slow on wide frames.
        encoded = {}
        for column in self.columns_:
            values = X[column].astype(str)
            known = values.where(values.isin(self.levels_[column]))
            encoded[column] = pd.Categorical(known, categories=self.levels_[column])
        if encoded:
            rest = X.drop(columns=list(encoded))
            out = pd.concat([rest, pd.DataFrame(encoded, index=X.index)], axis=1)[X.columns]
        else:
            out = X.copy()
        out.columns = self.internal_names_
        return out


class MedianImputer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Missing values filled with the column's training median (0 for a column with none).
    sklearn's SimpleImputer finds medians through masked arrays: several times slower, on
    every fit of every calibration fold."""

    def fit(self, X, y=None) -> MedianImputer:
        values = np.asarray(X, dtype=float)
        self.n_features_in_ = values.shape[1]
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column
            medians = np.nanmedian(values, axis=0) if len(values) else np.zeros(values.shape[1])
        self.statistics_ = np.where(np.isnan(medians), 0.0, medians)
        return self

    def transform(self, X) -> np.ndarray:
        values = np.array(X, dtype=float)
        missing = np.isnan(values)
        values[missing] = np.take(self.statistics_, np.nonzero(missing)[1])
        return values


def _signed_log1p(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


def logistic_pipeline(features: pd.DataFrame, seed: int) -> Pipeline:
    """Scaled numeric + one-hot categories + L2-regularised logistic regression."""
    categorical = categorical_columns(features)
    numeric = [c for c in features.columns if c not in categorical]
    prep = ColumnTransformer(
        [
            (
                "numeric",
                Pipeline(
                    [
                        ("impute", MedianImputer()),
                        ("log", FunctionTransformer(_signed_log1p, feature_names_out="one-to-one")),
                        ("scale", StandardScaler()),
                    ]
                ),
                numeric,
            ),
            (
                "categorical",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist", min_frequency=20, sparse_output=False
                ),
                categorical,
            ),
        ]
    )
    # Newton steps converge in a handful of iterations on this small dense design, where
    # lbfgs stopped at its tolerance after ~60 with coefficients still moving (and slower).
    model = LogisticRegression(C=0.3, solver="newton-cholesky", max_iter=500, random_state=seed)
    return Pipeline([("prep", prep), ("model", model)])


PREDICT_THREADS = 2


def _lightgbm(params: dict, seed: int, threads: int = PREDICT_THREADS) -> lgb.LGBMClassifier:
    # deterministic + force_row_wise: the same trees whatever the number of threads.
    return lgb.LGBMClassifier(
        **params,
        random_state=seed,
        deterministic=True,
        force_row_wise=True,
        n_jobs=threads,
        verbose=-1,
    )


def fit_lightgbm(
    X_train: pd.DataFrame,
    y_train: pd.Series,
    X_valid: pd.DataFrame,
    y_valid: pd.Series,
    params: dict,
    seed: int,
    threads: int = PREDICT_THREADS,
) -> tuple[Pipeline, int]:
    """LightGBM with native categoricals, early-stopped on validation PR-AUC."""
    encoder = CategoryEncoder().fit(X_train)
    model = _lightgbm({**params, "metric": EARLY_STOPPING_METRIC}, seed, threads)
    model.fit(
        encoder.transform(X_train),
        y_train,
        eval_X=(encoder.transform(X_valid),),
        eval_y=(y_valid,),
        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
    )
    best = int(model.best_iteration_ or params["n_estimators"])
    model.set_params(n_jobs=PREDICT_THREADS)  # predictions of many rows gain from threads
    return Pipeline([("prep", encoder), ("model", model)]), best


Result = TypeVar("Result")


def side_by_side(jobs: list[Callable[[], Result]]) -> list[Result]:
    """The jobs' results, run in threads on every core. The fits they hold run one thread
    each: a second thread barely speeds up one LightGBM fit of a few tens of thousands of
    rows (3.3 s against 3.0 s for 51k moments), where two fits side by side take 2.7 s for
    both. Each fit is the same whatever the order or the threads (deterministic LightGBM)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # infrequent-category notices
        return Parallel(n_jobs=-1, prefer="threads")(delayed(job)() for job in jobs)


def refit_calibrated(
    family: str,
    X_pre: pd.DataFrame,
    y_pre: pd.Series,
    is_valid: np.ndarray,
    method: str,
    lgb_params: dict,
    trees: int,
    seed: int,
    groups: np.ndarray | None = None,
    also: tuple[pd.DataFrame, np.ndarray] | None = None,
) -> tuple[CalibratedModel, np.ndarray, np.ndarray | None]:
    """The chosen settings refitted on every row before the test window, the out-of-fold
    log-odds of each validation row, and those of the `also` rows (features, lead of each).

    The validation rows are cut into folds; each fold is predicted by the same recipe trained
    on every other pre-test row. The calibrator learns from those out-of-fold log-odds of the
    newest window before the test, so no prediction it learns from is in-sample and the test
    window stays untouched. With `groups` (the lead of each row: an any-age model sees a lead
    at several ages) a lead's rows are held out together, and an `also` row is predicted by
    the fold that held its lead out."""
    if family == "lightgbm":
        params = {**lgb_params, "n_estimators": trees}
        recipe = Pipeline(
            [("prep", CategoryEncoder()), ("model", _lightgbm(params, seed, threads=1))]
        )
    else:
        recipe = logistic_pipeline(X_pre, seed)
    valid_rows = np.flatnonzero(is_valid)
    raw = np.zeros(len(valid_rows))
    if groups is None:
        folds = StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=seed)
        helds = [held for _, held in folds.split(valid_rows, y_pre.iloc[valid_rows])]
    else:
        folds = StratifiedGroupKFold(CALIBRATION_FOLDS, shuffle=True, random_state=seed)
        helds = [
            held for _, held in folds.split(valid_rows, y_pre.iloc[valid_rows], groups[valid_rows])
        ]

    def fit_without(held: np.ndarray | None):
        keep = np.ones(len(X_pre), dtype=bool)
        if held is not None:
            keep[valid_rows[held]] = False
        return clone(recipe).fit(X_pre[keep], y_pre[keep])

    *fold_models, final = side_by_side([partial(fit_without, held) for held in [*helds, None]])
    if family == "lightgbm":  # predictions of many rows do gain from threads
        for model in [*fold_models, final]:
            model.named_steps["model"].set_params(n_jobs=PREDICT_THREADS)
    for held, fold_model in zip(helds, fold_models, strict=True):
        raw[held] = log_odds(fold_model, X_pre.iloc[valid_rows[held]])
    calibrator = fit_calibrator(method, raw, y_pre.iloc[valid_rows].to_numpy())
    raw_also = None
    if also is not None:
        X_also, leads_also = also
        raw_also = np.full(len(X_also), np.nan)
        # Lead ids as integer codes: np.isin on strings sorts Python objects (20 s a run).
        codes, _ = pd.factorize(np.concatenate([groups[valid_rows], leads_also]))
        valid_codes, also_codes = codes[: len(valid_rows)], codes[len(valid_rows) :]
        for held, fold_model in zip(helds, fold_models, strict=True):
            mine = np.isin(also_codes, valid_codes[held])
            if mine.any():
                raw_also[mine] = log_odds(fold_model, X_also[mine])
        # A lead none of whose moments was drawn to fit on: every fold's model is out of fold
        # for it (no model saw it); the first fold's scores it.
        unseen = ~np.isin(also_codes, valid_codes)
        if unseen.any():
            raw_also[unseen] = log_odds(fold_models[0], X_also[unseen])
        if np.isnan(raw_also).any():
            raise ValueError("a validation lead has no snapshot among the validation rows")
    return CalibratedModel.single(family, final, method, calibrator), raw, raw_also


SHARE_ROWS = 3000  # shares of |SHAP| hardly move beyond a few thousand rows


def shap_shares(model, X: pd.DataFrame, X_train: pd.DataFrame, seed: int = 0) -> pd.Series:
    """Each column's share of the model's total |SHAP| on X, or on a seeded sample of
    SHARE_ROWS of its rows (shares sum to 1)."""
    if len(X) > SHARE_ROWS:
        X = X.sample(SHARE_ROWS, random_state=seed)
    total = explain.explain(model, X, X_train).contributions.abs().sum()
    return total / total.sum() if total.sum() > 0 else total


def refit_trees(best_iteration: int, n_train: int, n_pre: int) -> int:
    """Trees for the refit: the early-stopped count scaled to the larger training set."""
    return max(1, round(best_iteration * n_pre / max(n_train, 1)))


def search_lightgbm(
    X_train, y_train, X_valid, y_valid, seconds: float, seed: int
) -> tuple[dict, int]:
    """Random search within a time budget, judged on validation PR-AUC; returns (params, n).
    The defaults are the first candidate, so the search keeps them unless a candidate does
    better on validation (n counts them)."""
    rng = np.random.default_rng(seed)
    best_params, best_score, trials = dict(LIGHTGBM_DEFAULTS), -np.inf, 0
    deadline = time.monotonic() + seconds
    candidate = dict(LIGHTGBM_DEFAULTS)
    while True:
        model, _ = fit_lightgbm(X_train, y_train, X_valid, y_valid, candidate, seed)
        score = average_precision_score(y_valid, model.predict_proba(X_valid)[:, 1])
        trials += 1
        if score > best_score:
            best_params, best_score = candidate, score
        if time.monotonic() >= deadline:
            break
        candidate = dict(LIGHTGBM_DEFAULTS)
        candidate.update({k: v[rng.integers(len(v))] for k, v in SEARCH_SPACE.items()})
    log.info("hyperparameter search: %d trials, best validation PR-AUC %.4f", trials, best_score)
    return best_params, trials


def fit_models(
    X_train, y_train, X_valid, y_valid, families: list[str], lgb_params: dict, seed: int
) -> tuple[dict, dict, int]:
    """Fit and calibrate each model family; returns (models, calibration methods, best iter)."""

    def fit(family: str) -> tuple[Pipeline, int]:
        if family == "lightgbm":
            return fit_lightgbm(X_train, y_train, X_valid, y_valid, lgb_params, seed, threads=1)
        return logistic_pipeline(X_train, seed).fit(X_train, y_train), 0

    fitted = side_by_side([partial(fit, family) for family in families])
    models, methods, best_iteration = {}, {}, 0
    for family, (raw, best) in zip(families, fitted, strict=True):
        best_iteration = max(best_iteration, best)
        models[family], methods[family] = select_calibrated(raw, X_valid, y_valid, seed)
    return models, methods, best_iteration


def train_all(
    dataset: Dataset,
    model_params: ModelParams,
    feature_params: FeatureParams,
    baseline_params: BaselineParams,
    seed: int,
    oracle: pd.Series | None = None,
) -> TrainingResult:
    """The whole training stage: leakage guard, split, models, baseline, backtest."""
    started = time.monotonic()
    features, label = usable_features(dataset.features, feature_params), dataset.label
    split = split_dataset(dataset, model_params, seed)
    is_train = split.assignment == "train"
    # Raw export columns carry the CRM's field names; engineered features are point-in-time.
    flags, columns = screen_leakage(
        features[is_train], label[is_train], feature_params, by_name=dataset.columns is not None
    )
    more = leakage.gain_flags(
        leave_one_out_gains(
            features[columns], label, split.assignment, flags, feature_params, seed
        ),
        feature_params,
        flags,
    )
    flags = leakage.merge_flags(flags, more)
    columns = [c for c in columns if c not in set(leakage.excluded_columns(more))]
    if not columns:
        raise ValueError("no usable feature left after leakage exclusions")
    X = features[columns]
    rows = snapshot_fit_rows(dataset, split, columns)
    replay = replay_rows(dataset, split, columns, baseline_params)
    fitted = fit_families(X, label, split, model_params, seed, rows, dataset.lead_ids, replay)
    X_train, X_valid = X[is_train], X[split.assignment == "valid"]
    y_valid = label[split.assignment == "valid"]
    validation = validation_pr_auc(fitted.selection, X_valid, y_valid)
    if model_params.blend and {"lightgbm", "logistic"} <= set(fitted.selection):
        add_blend(fitted, X_valid, y_valid, validation, seed)
    points, baseline_kind = baseline_scores(features, X, label, split, baseline_params, seed)
    # Binary labels: isotonic values stay within [0, 1] (the points become a probability).
    baseline_calibrator = fit_calibrator(
        "isotonic", points[split.assignment == "valid"].to_numpy(), y_valid.to_numpy()
    )
    predictions = predictions_table(dataset, split, X, points, baseline_calibrator, fitted, oracle)
    is_valid = (split.assignment == "valid").to_numpy()
    validation["baseline"] = float(
        average_precision_score(y_valid, predictions.loc[is_valid, "baseline"])
    )
    models = fitted.models
    chosen = max(models, key=validation.get)
    log.info("validation PR-AUC %s; chosen model: %s", validation, chosen)
    flags = flags + leakage.dominance_flags(
        shap_shares(fitted.selection.get(chosen, models[chosen]), X_valid, X_train, seed),
        feature_params,
    )
    result = TrainingResult(
        models=models,
        calibration=fitted.methods,
        lightgbm_params=fitted.lgb_params,
        best_iteration=fitted.best_iteration,
        feature_columns=columns,
        leakage=flags,
        split=split,
        predictions=predictions,
        validation_pr_auc=validation,
        chosen_model=chosen,
        baseline_calibrator=baseline_calibrator,
        search_trials=fitted.trials,
        baseline_kind=baseline_kind,
        refit_trees=fitted.trees if "lightgbm" in models else 0,
        warnings=few_trees_warning(fitted),
    )
    if replay is not None:
        result.replay = replay_predictions(replay, fitted)
    if split.method == "out of time" and model_params.backtest_folds > 0:
        result.backtest = rolling_backtest(
            X, label, points, dataset.moment, model_params, fitted.lgb_params, seed
        )
    result.seconds = time.monotonic() - started
    return result


def usable_features(features: pd.DataFrame, params: FeatureParams) -> pd.DataFrame:
    """The features without features.drop_columns (each of which must be a feature)."""
    unknown = [c for c in params.drop_columns if c not in features.columns]
    if unknown:
        raise ValueError(
            f"features.drop_columns names {unknown}, which are not features; the features are: "
            + ", ".join(features.columns)
        )
    return features.drop(columns=list(params.drop_columns))


def screen_leakage(
    features: pd.DataFrame, label: pd.Series, params: FeatureParams, by_name: bool
) -> tuple[list[leakage.LeakFlag], list[str]]:
    """The leakage guard on the training rows: its flags and the columns left to learn from."""
    flags = leakage.detect_leakage(features, label, params, by_name=by_name)
    dropped = set(leakage.excluded_columns(flags))
    columns = [c for c in features.columns if c not in dropped]
    if not columns:
        raise ValueError("no usable feature left after leakage exclusions")
    return flags, columns


# The quick model of the leave-one-out check: enough to see one field carry the outcome, a
# second or so a fit on the rows it reads.
GAIN_MODEL = {"n_estimators": 150, "learning_rate": 0.08, "num_leaves": 15}
GAIN_MAX_ROWS = 50_000


def leave_one_out_gains(
    features: pd.DataFrame,
    label: pd.Series,
    assignment: pd.Series,
    flags: list[leakage.LeakFlag],
    params: FeatureParams,
    seed: int,
) -> dict[str, tuple[float, float]]:
    """{column: (validation ROC-AUC with every column, without this one)} for the columns
    strongest alone, from a quick LightGBM fitted on (at most GAIN_MAX_ROWS) training rows.
    Validation is read, never the test window."""
    is_train = (assignment == "train").to_numpy()
    is_valid = (assignment == "valid").to_numpy()
    y_train, y_valid = label.to_numpy()[is_train], label.to_numpy()[is_valid]
    if (
        params.leakage_gain_candidates == 0
        or features.shape[1] < 2
        or len(np.unique(y_train)) < 2
        or len(np.unique(y_valid)) < 2
    ):
        return {}
    X_train, X_valid = features[is_train], features[is_valid]
    if len(X_train) > GAIN_MAX_ROWS:
        keep = np.random.default_rng(seed).choice(len(X_train), GAIN_MAX_ROWS, replace=False)
        X_train, y_train = X_train.iloc[np.sort(keep)], y_train[np.sort(keep)]
    candidates = leakage.gain_candidates(
        X_train, pd.Series(y_train), flags, params.leakage_gain_candidates
    )

    def auc_of(columns: list[str]) -> float:
        encoder = CategoryEncoder().fit(X_train[columns])
        model = _lightgbm(GAIN_MODEL, seed, threads=1)
        model.fit(encoder.transform(X_train[columns]), y_train)
        return stats.auc(y_valid, model.predict_proba(encoder.transform(X_valid[columns]))[:, 1])

    every = list(features.columns)
    with_all, *without = side_by_side(
        [partial(auc_of, every)]
        + [partial(auc_of, [x for x in every if x != c]) for c in candidates]
    )
    return {c: (with_all, auc) for c, auc in zip(candidates, without, strict=True)}


@dataclass
class FittedFamilies:
    """Each family twice: the selection model (training rows, calibrated on validation) that
    chooses settings and family, and the refit on every row before the test window with the
    out-of-fold log-odds of the validation rows its calibrator learned from."""

    selection: dict[str, CalibratedClassifierCV]
    models: dict[str, CalibratedModel]
    methods: dict[str, str]
    raw_out_of_fold: dict[str, np.ndarray]  # of the dataset's validation rows
    lgb_params: dict
    trials: int
    best_iteration: int
    trees: int
    # The rows the calibrators learned from (the validation rows the models were fitted on:
    # every validation lead at each age for an any-age model) and their labels.
    calibration_raw: dict[str, np.ndarray] = field(default_factory=dict)
    calibration_label: np.ndarray | None = None
    calibration_age: np.ndarray | None = None  # their lead age (any-age models)
    ages: list[float] | None = None  # an any-age model's training ages
    replay_raw: dict[str, np.ndarray] = field(default_factory=dict)  # replay's validation rows


def fit_families(
    X: pd.DataFrame,
    label: pd.Series,
    split: Split,
    params: ModelParams,
    seed: int,
    rows: FitRows | None = None,
    leads: pd.Series | None = None,
    replay: ReplayRows | None = None,
) -> FittedFamilies:
    """Settings searched and chosen on validation; then each family refitted on every row
    before the test window (the newest included) and calibrated out of fold. The models learn
    from `rows` when given (an any-age model's snapshots; `leads`: the dataset's lead ids);
    the `replay` rows of validation leads get out-of-fold log-odds too."""
    primary_valid = split.assignment == "valid"
    if rows is None:
        rows = FitRows(X, label, split.assignment, None)
    is_train, is_valid = rows.assignment == "train", rows.assignment == "valid"
    X_train, y_train = rows.X[is_train], rows.label[is_train]
    X_valid, y_valid = rows.X[is_valid], rows.label[is_valid]
    lgb_params, trials = dict(LIGHTGBM_DEFAULTS), 0
    if "lightgbm" in params.families and params.search_seconds > 0:
        lgb_params, trials = search_lightgbm(
            X_train, y_train, X_valid, y_valid, params.search_seconds, seed
        )
    selection, methods, best_iteration = fit_models(
        X_train, y_train, X_valid, y_valid, list(params.families), lgb_params, seed
    )
    is_pre = (rows.assignment != "test").to_numpy()
    X_pre, y_pre = rows.X[is_pre], rows.label[is_pre]
    trees = refit_trees(best_iteration, len(X_train), len(X_pre))
    groups = None if rows.leads is None else rows.leads[is_pre]
    also, n_primary = None, int(primary_valid.sum())
    if groups is not None:
        also_X, also_leads = [X[primary_valid]], [leads[primary_valid].astype(str).to_numpy()]
        if replay is not None:
            also_X.append(replay.X[replay.is_valid])
            also_leads.append(replay.rows.loc[replay.is_valid, "lead_id"].to_numpy())
        also = (pd.concat(also_X, ignore_index=True), np.concatenate(also_leads))
    models, raw_out_of_fold, calibration_raw, replay_raw = {}, {}, {}, {}
    for family in selection:
        models[family], calibration_raw[family], raw_also = refit_calibrated(
            family,
            X_pre,
            y_pre,
            (rows.assignment[is_pre] == "valid").to_numpy(),
            methods[family],
            lgb_params,
            trees,
            seed,
            groups,
            also,
        )
        if raw_also is None:
            raw_out_of_fold[family] = calibration_raw[family]
        else:
            raw_out_of_fold[family] = raw_also[:n_primary]
            replay_raw[family] = raw_also[n_primary:]
    pre_valid = (rows.assignment[is_pre] == "valid").to_numpy()
    fitted = FittedFamilies(
        selection,
        models,
        methods,
        raw_out_of_fold,
        lgb_params,
        trials,
        best_iteration,
        trees,
        calibration_raw,
        y_pre[pre_valid].to_numpy(),
        None if rows.ages is None else X_pre.loc[pre_valid, LEAD_AGE].to_numpy(dtype=float),
        rows.ages,
        replay_raw,
    )
    for family in models:
        fit_shift_by_age(fitted, family)
    return fitted


def fit_shift_by_age(fitted: FittedFamilies, name: str) -> None:
    """An any-age model's calibration shifted by lead age, fitted on the rows its calibrator
    learned from (every validation lead at each training age, out of fold)."""
    if fitted.ages is None:
        return
    model = fitted.models[name]
    model.age_offsets = fit_age_offsets(
        np.clip(model.calibrator.predict(fitted.calibration_raw[name]), 0, 1),
        fitted.calibration_label,
        fitted.calibration_age,
        fitted.ages,
        LEAD_AGE,
    )


def validation_pr_auc(
    selection: dict[str, CalibratedClassifierCV], X_valid: pd.DataFrame, y_valid: pd.Series
) -> dict[str, float]:
    """Each family's validation PR-AUC, from the selection models (training rows only):
    ranking metrics on log-odds, so calibration's ties do not count."""
    return {
        n: float(average_precision_score(y_valid, log_odds(fitted_pipeline(m), X_valid)))
        for n, m in selection.items()
    }


def add_blend(
    fitted: FittedFamilies,
    X_valid: pd.DataFrame,
    y_valid: pd.Series,
    validation: dict[str, float],
    seed: int,
) -> None:
    """The blend of LightGBM and logistic log-odds at the weight validation prefers, calibrated
    on the members' out-of-fold blend; added to the fitted models and `validation`."""
    raw_valid = {
        n: log_odds(fitted_pipeline(fitted.selection[n]), X_valid) for n in ("lightgbm", "logistic")
    }
    tried = {
        w: float(
            average_precision_score(
                y_valid, w * raw_valid["lightgbm"] + (1 - w) * raw_valid["logistic"]
            )
        )
        for w in BLEND_WEIGHTS
    }
    weight = max(tried, key=tried.get)
    validation["blend"] = tried[weight]
    weights = {"lightgbm": weight, "logistic": 1 - weight}
    # The calibrator learns from the rows the members' calibrators learned from.
    raw_blend = sum(w * fitted.calibration_raw[n] for n, w in weights.items())
    calibration_label = fitted.calibration_label
    method = choose_calibration(raw_blend, calibration_label, seed)
    fitted.methods["blend"] = method
    fitted.calibration_raw["blend"] = raw_blend
    fitted.raw_out_of_fold["blend"] = sum(w * fitted.raw_out_of_fold[n] for n, w in weights.items())
    if fitted.replay_raw:
        fitted.replay_raw["blend"] = sum(w * fitted.replay_raw[n] for n, w in weights.items())
    fitted.models["blend"] = CalibratedModel(
        {n: fitted.models[n].pipeline for n in weights},
        weights,
        method,
        fit_calibrator(method, raw_blend, calibration_label),
    )
    fit_shift_by_age(fitted, "blend")


def predictions_table(
    dataset: Dataset,
    split: Split,
    X: pd.DataFrame,
    points: pd.Series,
    baseline_calibrator,
    fitted: FittedFamilies,
    oracle: pd.Series | None,
) -> pd.DataFrame:
    """Every lead with its split, label, today's points and each model's probability; the
    validation rows' out-of-fold probabilities too (thresholds are chosen on them)."""
    predictions = pd.DataFrame(
        {
            "lead_id": dataset.lead_ids,
            "moment": dataset.moment,
            "split": split.assignment,
            "label": dataset.label,
            "baseline_points": points,
            "baseline": baseline_calibrator.predict(points),
        }
    )
    is_valid = (split.assignment == "valid").to_numpy()
    for name, probability in probabilities(fitted.models, X).items():
        model = fitted.models[name]
        predictions[name] = probability
        # Validation rows are in the refit's training data: thresholds are chosen on their
        # out-of-fold probabilities (NaN on other rows).
        predictions[out_of_fold_column(name)] = np.nan
        predictions.loc[is_valid, out_of_fold_column(name)] = model.calibrate(
            fitted.raw_out_of_fold[name], X[is_valid]
        )
    if oracle is not None:
        predictions["oracle"] = oracle.to_numpy()
    if dataset.segments is not None:
        for column in dataset.segments.columns:
            predictions[f"segment_{column}"] = dataset.segments[column].to_numpy()
    return predictions


def replay_predictions(replay: ReplayRows, fitted: FittedFamilies) -> pd.DataFrame:
    """The replay rows with each model's probability; on validation rows also the
    out-of-fold probability (the refit has seen those leads), as in predictions."""
    out = replay.rows.copy()
    for name, probability in probabilities(fitted.models, replay.X).items():
        model = fitted.models[name]
        out[name] = probability
        out[out_of_fold_column(name)] = np.nan
        out.loc[replay.is_valid, out_of_fold_column(name)] = model.calibrate(
            fitted.replay_raw[name], replay.X[replay.is_valid]
        )
    return out


def few_trees_warning(fitted: FittedFamilies) -> list[str]:
    """A warning when the refitted LightGBM has too few trees to have learned much."""
    if "lightgbm" not in fitted.models or fitted.trees >= MIN_TREES:
        return []
    note = (
        f"LightGBM has only {fitted.trees} trees (early stopping on validation PR-AUC stopped at "
        f"{fitted.best_iteration}): it learned little; check the conversion rate of each window "
        "and the leakage review."
    )
    log.warning(note)
    return [note]


OUT_OF_FOLD_PREFIX = "oof_"


def out_of_fold_column(name: str) -> str:
    """The predictions column with a model's out-of-fold probabilities of validation rows."""
    return f"{OUT_OF_FOLD_PREFIX}{name}"


def baseline_scores(
    features: pd.DataFrame,
    X: pd.DataFrame,
    label: pd.Series,
    split: Split,
    params: BaselineParams,
    seed: int,
) -> tuple[pd.Series, str]:
    """Today's rules as points; with no rules configured, a plain logistic regression."""
    if params.rules:
        return rule_points(features, params), "points rules"
    # Like the models: judged on validation when trained on the training rows, on test when
    # trained on every row before the test window.
    is_test = (split.assignment == "test").to_numpy()
    scores = np.zeros(len(X))
    is_train = (split.assignment == "train").to_numpy()
    for rows, scored in ((is_train, ~is_test), (~is_test, is_test)):
        plain = logistic_pipeline(X, seed).set_params(model__C=1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            plain.fit(X[rows], label[rows])
        scores[scored] = plain.predict_proba(X[scored])[:, 1]
    log.info("no baseline rules configured: comparing against a plain logistic regression")
    return (
        pd.Series(scores, index=X.index),
        "plain logistic regression (no rule baseline configured)",
    )


def rolling_backtest(
    X: pd.DataFrame,
    label: pd.Series,
    points: pd.Series,
    moment: pd.Series,
    params: ModelParams,
    lgb_params: dict,
    seed: int,
) -> pd.DataFrame:
    """Rolling-origin backtest: the test window steps back one test period per fold."""
    from sklearn.metrics import roc_auc_score

    folds = []
    end = moment.max()
    for fold in range(1, params.backtest_folds + 1):
        test_end = end - pd.DateOffset(months=params.test_months * (fold - 1))
        test_start = test_end - pd.DateOffset(months=params.test_months)
        valid_start = test_start - pd.DateOffset(months=params.valid_months)
        test = (moment > test_start) & (moment <= test_end)
        valid = (moment >= valid_start) & (moment <= test_start)
        train = moment < valid_start
        if min(label[m].nunique() for m in (train, valid, test)) < 2:
            log.warning("backtest fold %d skipped: a period has one outcome only", fold)
            continue
        folds.append((fold, test_start, test_end, train, valid, test))

    def fit(train: pd.Series, valid: pd.Series) -> Pipeline:
        args = (X[train], label[train], X[valid], label[valid], lgb_params, seed)
        return fit_lightgbm(*args, threads=1)[0]

    models = side_by_side([partial(fit, train, valid) for _, _, _, train, valid, _ in folds])
    rows = []
    for (fold, test_start, test_end, train, _, test), model in zip(folds, models, strict=True):
        families = {"baseline": points[test]}
        families["lightgbm"] = pd.Series(model.predict_proba(X[test])[:, 1], index=X[test].index)
        for name, score in families.items():
            rows.append(
                {
                    "fold": fold,
                    "test_start": f"{test_start:%Y-%m-%d}",
                    "test_end": f"{test_end:%Y-%m-%d}",
                    "model": name,
                    "n_train": int(train.sum()),
                    "n_test": int(test.sum()),
                    "positives": int(label[test].sum()),
                    "roc_auc": float(roc_auc_score(label[test], score)),
                    "pr_auc": float(average_precision_score(label[test], score)),
                }
            )
    return pd.DataFrame(rows)
