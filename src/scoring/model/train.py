"""Models against the rule baseline: out-of-time split, leakage guard, fit, calibrate, backtest."""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from scoring.core.config import BaselineParams, FeatureParams, ModelParams
from scoring.data.features import Dataset, categorical_columns
from scoring.io import runfolder
from scoring.io.runfolder import RunFolder
from scoring.model import explain, leakage
from scoring.model.calibration import (
    CalibratedModel,
    choose_calibration,
    fit_calibrator,
    fitted_pipeline,
    log_odds,
    select_calibrated,
)
from scoring.runtime import drift
from scoring.runtime.rules import points as rule_points

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
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


@dataclass(frozen=True)
class Split:
    """Which rows are train, valid and test, and how the split was made."""

    assignment: pd.Series
    method: str
    periods: dict[str, list[str]]
    warning: str | None = None


@dataclass
class TrainingResult:
    """Fitted models, the baseline, the leakage report and everything evaluation needs."""

    models: dict[str, CalibratedClassifierCV]
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


class CategoryEncoder(BaseEstimator, TransformerMixin):
    """Text columns as pandas categories with the levels seen in training (unseen -> missing)."""

    def fit(self, X: pd.DataFrame, y=None) -> CategoryEncoder:
        self.columns_ = categorical_columns(X)
        self.levels_ = {c: sorted(X[c].dropna().astype(str).unique()) for c in self.columns_}
        self.feature_names_in_ = np.array(X.columns)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        # A value outside the levels becomes missing. The columns are put back in one concat:
        # assigning them one by one gets slow on wide frames.
        encoded = {}
        for column in self.columns_:
            values = X[column].astype(str)
            known = values.where(values.isin(self.levels_[column]))
            encoded[column] = pd.Categorical(known, categories=self.levels_[column])
        if not encoded:
            return X.copy()
        rest = X.drop(columns=list(encoded))
        return pd.concat([rest, pd.DataFrame(encoded, index=X.index)], axis=1)[X.columns]


def _signed_log1p(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


def split_dataset(dataset: Dataset, params: ModelParams, seed: int) -> Split:
    """Out of time when there are dates; else by row order; else random, with a warning."""
    if dataset.moment.notna().all() and dataset.moment.nunique() > 1:
        return split_by_time(dataset.moment, dataset.label, params, seed)
    if dataset.order is not None:
        return split_by_order(dataset.order, dataset.label, params)
    return random_split(dataset.label, params, seed)


def random_split(label: pd.Series, params: ModelParams, seed: int) -> Split:
    """Stratified random split: only when nothing tells the time order."""
    warning = (
        "No usable date or order: the split is random and stratified, so the test set "
        "is NOT out of time; expect optimistic figures."
    )
    log.warning(warning)
    index = np.arange(len(label))
    rest, test = train_test_split(
        index, test_size=params.test_fraction, stratify=label, random_state=seed
    )
    _, valid = train_test_split(
        rest,
        test_size=params.valid_fraction / (1 - params.test_fraction),
        stratify=label.iloc[rest],
        random_state=seed,
    )
    assignment = pd.Series("train", index=label.index, dtype=object)
    assignment.iloc[valid] = "valid"
    assignment.iloc[test] = "test"
    return Split(assignment, "random stratified", {}, warning)


def order_shares(params: ModelParams) -> tuple[float, float]:
    """(valid, test) shares of a split in time or row order; training keeps at least
    models.min_train_share."""
    valid, test = params.valid_fraction, params.test_fraction
    room = 1 - params.min_train_share
    if valid + test > room:
        valid, test = valid / (valid + test) * room, test / (valid + test) * room
    return valid, test


def split_by_order(
    order: pd.Series,
    label: pd.Series,
    params: ModelParams,
    method: str = "by row order",
    warning: str | None = None,
) -> Split:
    """Oldest rows by the order (a number or a date) train, the next validate, the newest
    test, by shares of the rows."""
    valid_share, test_share = order_shares(params)
    rank = order.rank(method="first", pct=True)
    assignment = pd.Series("train", index=order.index, dtype=object)
    assignment[rank > 1 - test_share - valid_share] = "valid"
    assignment[rank > 1 - test_share] = "test"
    dated = pd.api.types.is_datetime64_any_dtype(order)
    periods = {}
    for name in SPLITS:
        rows = order[assignment == name]
        if label[assignment == name].nunique() < 2:
            raise ValueError(
                f"the {name} part has only one outcome; use other "
                "models.valid_fraction / models.test_fraction or more data"
            )
        periods[name] = [
            f"{rows.min():%Y-%m-%d}" if dated else f"{rows.min():g}",
            f"{rows.max():%Y-%m-%d}" if dated else f"{rows.max():g}",
        ]
    return Split(assignment, method, periods, warning)


def split_by_time(moment: pd.Series, label: pd.Series, params: ModelParams, seed: int) -> Split:
    """Train on the oldest leads, validate on the next months, test on the newest."""
    if not (moment.notna().all() and moment.nunique() > 1):
        return random_split(label, params, seed)
    end = moment.max()
    test_start = end - pd.DateOffset(months=params.test_months)
    valid_start = test_start - pd.DateOffset(months=params.valid_months)
    assignment = pd.Series("train", index=moment.index, dtype=object)
    assignment[moment >= valid_start] = "valid"
    assignment[moment > test_start] = "test"
    train_share = float((assignment == "train").mean())
    if train_share < params.min_train_share:
        # Whole months on a fast-growing export leave too little to learn from.
        valid_share, test_share = order_shares(params)
        note = (
            f"The newest {params.valid_months} + {params.test_months} months hold "
            f"{1 - train_share:.0%} of the labelled leads, which would leave {train_share:.0%} "
            f"for training (below models.min_train_share {params.min_train_share:.0%}): "
            f"the split is by time-ordered shares instead ({valid_share:.0%} validation, "
            f"{test_share:.0%} test, the newest leads)."
        )
        log.warning(note)
        return split_by_order(moment, label, params, "out of time (shares)", note)
    periods = {}
    for name in SPLITS:
        rows = moment[assignment == name]
        if rows.empty or label[assignment == name].nunique() < 2:
            raise ValueError(
                f"the {name} period has no leads or only one outcome; use fewer "
                "models.valid_months / models.test_months or more data"
            )
        periods[name] = [f"{rows.min():%Y-%m-%d}", f"{rows.max():%Y-%m-%d}"]
    return Split(assignment, "out of time", periods)


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
                        ("impute", SimpleImputer(strategy="median")),
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
    model = LogisticRegression(C=0.3, max_iter=5000, random_state=seed)
    return Pipeline([("prep", prep), ("model", model)])


def _lightgbm(params: dict, seed: int) -> lgb.LGBMClassifier:
    return lgb.LGBMClassifier(
        **params, random_state=seed, deterministic=True, force_row_wise=True, n_jobs=2, verbose=-1
    )


def fit_lightgbm(
    X_train: pd.DataFrame,
    y_train: pd.Series,
    X_valid: pd.DataFrame,
    y_valid: pd.Series,
    params: dict,
    seed: int,
) -> tuple[Pipeline, int]:
    """LightGBM with native categoricals, early-stopped on validation PR-AUC."""
    encoder = CategoryEncoder().fit(X_train)
    model = _lightgbm({**params, "metric": EARLY_STOPPING_METRIC}, seed)
    model.fit(
        encoder.transform(X_train),
        y_train,
        eval_X=(encoder.transform(X_valid),),
        eval_y=(y_valid,),
        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
    )
    best = int(model.best_iteration_ or params["n_estimators"])
    return Pipeline([("prep", encoder), ("model", model)]), best


def refit_calibrated(
    family: str,
    X_pre: pd.DataFrame,
    y_pre: pd.Series,
    is_valid: np.ndarray,
    method: str,
    lgb_params: dict,
    trees: int,
    seed: int,
) -> tuple[CalibratedModel, np.ndarray]:
    """The chosen settings refitted on every row before the test window, and the
    out-of-fold log-odds of each validation row.

    The validation rows are cut into folds; each fold is predicted by the same recipe trained
    on every other pre-test row. The calibrator learns from those out-of-fold log-odds of the
    newest window before the test, so no prediction it learns from is in-sample and the test
    window stays untouched."""
    if family == "lightgbm":
        params = {**lgb_params, "n_estimators": trees}
        recipe = Pipeline([("prep", CategoryEncoder()), ("model", _lightgbm(params, seed))])
    else:
        recipe = logistic_pipeline(X_pre, seed)
    valid_rows = np.flatnonzero(is_valid)
    raw = np.zeros(len(valid_rows))
    folds = StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=seed)
    helds = [held for _, held in folds.split(valid_rows, y_pre.iloc[valid_rows])]

    def fit_without(held: np.ndarray | None):
        keep = np.ones(len(X_pre), dtype=bool)
        if held is not None:
            keep[valid_rows[held]] = False
        return clone(recipe).fit(X_pre[keep], y_pre[keep])

    # LightGBM uses every core itself; the logistic fits are mostly single-threaded, so the
    # folds and the final fit run side by side (each fit is the same whatever the order).
    jobs = 1 if family == "lightgbm" else -1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # infrequent-category notices
        *fold_models, final = Parallel(n_jobs=jobs, prefer="threads")(
            delayed(fit_without)(held) for held in [*helds, None]
        )
    for held, fold_model in zip(helds, fold_models, strict=True):
        raw[held] = log_odds(fold_model, X_pre.iloc[valid_rows[held]])
    calibrator = fit_calibrator(method, raw, y_pre.iloc[valid_rows].to_numpy())
    return CalibratedModel.single(family, final, method, calibrator), raw


def shap_shares(model, X: pd.DataFrame, X_train: pd.DataFrame) -> pd.Series:
    """Each column's share of the model's total |SHAP| on X (shares sum to 1)."""
    total = explain.explain(model, X, X_train).contributions.abs().sum()
    return total / total.sum() if total.sum() > 0 else total


def refit_trees(best_iteration: int, n_train: int, n_pre: int) -> int:
    """Trees for the refit: the early-stopped count scaled to the larger training set."""
    return max(1, round(best_iteration * n_pre / max(n_train, 1)))


def search_lightgbm(
    X_train, y_train, X_valid, y_valid, seconds: float, seed: int
) -> tuple[dict, int]:
    """Random search within a time budget, judged on validation PR-AUC; returns (params, n)."""
    rng = np.random.default_rng(seed)
    best_params, best_score, trials = dict(LIGHTGBM_DEFAULTS), -np.inf, 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        candidate = dict(LIGHTGBM_DEFAULTS)
        candidate.update({k: v[rng.integers(len(v))] for k, v in SEARCH_SPACE.items()})
        model, _ = fit_lightgbm(X_train, y_train, X_valid, y_valid, candidate, seed)
        score = average_precision_score(y_valid, model.predict_proba(X_valid)[:, 1])
        trials += 1
        if score > best_score:
            best_params, best_score = candidate, score
    log.info("hyperparameter search: %d trials, best validation PR-AUC %.4f", trials, best_score)
    return best_params, trials


def fit_models(
    X_train, y_train, X_valid, y_valid, families: list[str], lgb_params: dict, seed: int
) -> tuple[dict, dict, int]:
    """Fit and calibrate each model family; returns (models, calibration methods, best iter)."""
    models, methods, best_iteration = {}, {}, 0
    for family in families:
        if family == "lightgbm":
            raw, best_iteration = fit_lightgbm(X_train, y_train, X_valid, y_valid, lgb_params, seed)
        else:
            raw = logistic_pipeline(X_train, seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # infrequent-category notices
                raw.fit(X_train, y_train)
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
    features, label = dataset.features, dataset.label
    unknown = [c for c in feature_params.drop_columns if c not in features.columns]
    if unknown:
        raise ValueError(
            f"features.drop_columns names {unknown}, which are not features; the features are: "
            + ", ".join(features.columns)
        )
    features = features.drop(columns=list(feature_params.drop_columns))
    split = split_dataset(dataset, model_params, seed)
    is_train = split.assignment == "train"
    # Raw export columns carry the CRM's field names; engineered features are point-in-time.
    flags = leakage.detect_leakage(
        features[is_train], label[is_train], feature_params, by_name=dataset.columns is not None
    )
    dropped = set(leakage.excluded_columns(flags))
    columns = [c for c in features.columns if c not in dropped]
    if not columns:
        raise ValueError("no usable feature left after leakage exclusions")
    X = features[columns]
    parts = {
        name: (X[split.assignment == name], label[split.assignment == name]) for name in SPLITS
    }
    (X_train, y_train), (X_valid, y_valid) = parts["train"], parts["valid"]
    lgb_params, trials = dict(LIGHTGBM_DEFAULTS), 0
    if "lightgbm" in model_params.families and model_params.search_seconds > 0:
        lgb_params, trials = search_lightgbm(
            X_train, y_train, X_valid, y_valid, model_params.search_seconds, seed
        )
    selection, methods, best_iteration = fit_models(
        X_train, y_train, X_valid, y_valid, list(model_params.families), lgb_params, seed
    )
    # Settings are chosen; the model that is evaluated and exported learns from every row
    # before the test window, the newest ones included.
    is_pre = split.assignment != "test"
    X_pre, y_pre = X[is_pre], label[is_pre]
    trees = refit_trees(best_iteration, len(X_train), len(X_pre))
    models, raw_out_of_fold = {}, {}
    for family in selection:
        models[family], raw_out_of_fold[family] = refit_calibrated(
            family,
            X_pre,
            y_pre,
            (split.assignment[is_pre] == "valid").to_numpy(),
            methods[family],
            lgb_params,
            trees,
            seed,
        )
    # Family choice on validation, from the selection models (training rows only): ranking
    # metrics on log-odds, so calibration's ties do not count.
    raw_valid = {n: log_odds(fitted_pipeline(m), X_valid) for n, m in selection.items()}
    validation = {n: float(average_precision_score(y_valid, z)) for n, z in raw_valid.items()}
    if model_params.blend and {"lightgbm", "logistic"} <= set(selection):
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
        raw_blend = sum(w * raw_out_of_fold[n] for n, w in weights.items())
        y_valid_array = y_valid.to_numpy()
        methods["blend"] = choose_calibration(raw_blend, y_valid_array, seed)
        raw_out_of_fold["blend"] = raw_blend
        models["blend"] = CalibratedModel(
            {n: models[n].pipeline for n in weights},
            weights,
            methods["blend"],
            fit_calibrator(methods["blend"], raw_blend, y_valid_array),
        )
    points, baseline_kind = baseline_scores(features, X, label, split, baseline_params, seed)
    valid_points = points[split.assignment == "valid"]
    # Binary labels: isotonic values stay within [0, 1] (the points become a probability).
    baseline_calibrator = fit_calibrator("isotonic", valid_points.to_numpy(), y_valid.to_numpy())
    predictions = pd.DataFrame(
        {
            "lead_id": dataset.lead_ids,
            "moment": dataset.moment,
            "split": split.assignment,
            "label": label,
            "baseline_points": points,
            "baseline": baseline_calibrator.predict(points),
        }
    )
    is_valid = (split.assignment == "valid").to_numpy()
    for name, model in models.items():
        predictions[name] = model.predict_proba(X)[:, 1]
        # Validation rows are in the refit's training data: thresholds are chosen on their
        # out-of-fold probabilities (NaN on other rows).
        predictions[out_of_fold_column(name)] = np.nan
        predictions.loc[is_valid, out_of_fold_column(name)] = np.clip(
            model.calibrator.predict(raw_out_of_fold[name]), 0, 1
        )
    if oracle is not None:
        predictions["oracle"] = oracle.to_numpy()
    if dataset.segments is not None:
        for column in dataset.segments.columns:
            predictions[f"segment_{column}"] = dataset.segments[column].to_numpy()
    validation["baseline"] = float(
        average_precision_score(y_valid, predictions.loc[is_valid, "baseline"])
    )
    chosen = max(models, key=validation.get)
    log.info("validation PR-AUC %s; chosen model: %s", validation, chosen)
    flags = flags + leakage.dominance_flags(
        shap_shares(selection.get(chosen, models[chosen]), X_valid, X_train), feature_params
    )
    notes = []
    if "lightgbm" in models and trees < MIN_TREES:
        notes.append(
            f"LightGBM has only {trees} trees (early stopping on validation PR-AUC stopped at "
            f"{best_iteration}): it learned little; check the conversion rate of each window "
            "and the leakage review."
        )
        log.warning(notes[-1])
    result = TrainingResult(
        models=models,
        calibration=methods,
        lightgbm_params=lgb_params,
        best_iteration=best_iteration,
        feature_columns=columns,
        leakage=flags,
        split=split,
        predictions=predictions,
        validation_pr_auc=validation,
        chosen_model=chosen,
        baseline_calibrator=baseline_calibrator,
        search_trials=trials,
        baseline_kind=baseline_kind,
        refit_trees=trees if "lightgbm" in models else 0,
        warnings=notes,
    )
    if split.method == "out of time" and model_params.backtest_folds > 0:
        result.backtest = rolling_backtest(
            X, label, points, dataset.moment, model_params, lgb_params, seed
        )
    result.seconds = time.monotonic() - started
    return result


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

    rows = []
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
        families = {"baseline": points[test]}
        model, _ = fit_lightgbm(X[train], label[train], X[valid], label[valid], lgb_params, seed)
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


def conversion_by_window(label: pd.Series, assignment: pd.Series) -> dict[str, dict]:
    """Leads, conversions and conversion rate of train, validation and test."""
    out = {}
    for name in SPLITS:
        rows = label[assignment == name]
        out[name] = {
            "leads": len(rows),
            "conversions": int(rows.sum()),
            "rate": float(rows.mean()) if len(rows) else None,
        }
    return out


def training_summary(result: TrainingResult, dataset: Dataset, data_fingerprint: str) -> dict:
    """What the evaluation and metrics.json need to know about training (JSON-ready)."""
    counts = result.split.assignment.value_counts()
    return {
        "data": {
            "fingerprint": data_fingerprint,
            "n_train": int(counts.get("train", 0)),
            "n_valid": int(counts.get("valid", 0)),
            "n_test": int(counts.get("test", 0)),
            "test_period": result.split.periods.get("test"),
            "snapshot": None if pd.isna(dataset.snapshot) else f"{dataset.snapshot:%Y-%m-%d}",
            "positives": {
                s: int(dataset.label[result.split.assignment == s].sum()) for s in SPLITS
            },
            "sampling": dataset.sampling,
        },
        "label": {
            **dataset.description,
            "excluded": dataset.exclusions.to_dict(orient="records"),
        },
        "split": {
            "method": result.split.method,
            "periods": result.split.periods,
            "warning": result.split.warning,
        },
        "baseline": result.baseline_kind,
        "columns": [] if dataset.columns is None else dataset.columns.to_dict(orient="records"),
        "notes": dataset.notes,
        "chosen_model": result.chosen_model,
        "calibration": result.calibration,
        "validation_pr_auc": {k: round(v, 6) for k, v in result.validation_pr_auc.items()},
        "lightgbm": {
            "params": result.lightgbm_params,
            "early_stopping_metric": EARLY_STOPPING_METRIC,
            "best_iteration": result.best_iteration,
            "refit_trees": result.refit_trees,
            "search_trials": result.search_trials,
        },
        "seconds": round(result.seconds, 1),
        "fitted_on": {
            "rows": result.fitted_on,
            "n_rows": int((result.split.assignment != "test").sum()),
            "how": "family, hyperparameters, tree count and calibration method chosen on "
            "validation with models trained on the training rows; the chosen settings refitted "
            "on train + validation (tree count scaled to the rows) and calibrated on "
            f"{CALIBRATION_FOLDS}-fold out-of-fold predictions of the validation rows (each "
            "fold predicted by the same recipe trained on every other row before the test "
            "window). The test window is never used.",
        },
        "conversion_by_window": conversion_by_window(dataset.label, result.split.assignment),
        "warnings": [*([result.split.warning] if result.split.warning else []), *result.warnings],
        "blend_weights": (result.models["blend"].weights if "blend" in result.models else None),
        "features": result.feature_columns,
        "backtest": result.backtest.round(6).to_dict(orient="records"),
        "leakage": {
            "flagged": [f.as_dict() for f in result.leakage],
            "excluded": leakage.excluded_columns(result.leakage),
        },
        "drift": drift.training_drift(
            dataset.features[result.feature_columns],
            result.predictions[result.chosen_model],
            result.split.assignment,
            result.split.periods,
        ),
    }


def save_outputs(result: TrainingResult, summary: dict, run: RunFolder) -> dict[str, str]:
    """Write predictions, the training summary and the models (no pickles) into the run."""
    paths = {"predictions": run.predictions, "training": run.training}
    result.predictions.to_parquet(paths["predictions"], index=False)
    run.write(runfolder.TRAINING, summary)
    if "lightgbm" in result.models:
        booster = fitted_pipeline(result.models["lightgbm"]).named_steps["model"].booster_
        paths["lightgbm_model"] = run.lightgbm_model
        booster.save_model(paths["lightgbm_model"])
    if "logistic" in result.models:
        pipe = fitted_pipeline(result.models["logistic"])
        names = pipe.named_steps["prep"].get_feature_names_out()
        model = pipe.named_steps["model"]
        paths["logistic_model"] = run.write(
            runfolder.LOGISTIC_MODEL,
            {
                "intercept": float(model.intercept_[0]),
                "coefficients": dict(zip(names, model.coef_[0].round(8).tolist(), strict=True)),
            },
        )
    return {k: str(v) for k, v in paths.items()}


def load_outputs(run: RunFolder) -> tuple[pd.DataFrame, dict]:
    """The predictions and training summary a training run wrote."""
    missing = run.missing(runfolder.PREDICTIONS, runfolder.TRAINING)
    if missing:
        raise FileNotFoundError(
            f"{run.path} has no {', '.join(missing)}: run the train stage first "
            "(leadscore run does both)"
        )
    return pd.read_parquet(run.predictions), run.read(runfolder.TRAINING)


def summary_markdown(summary: dict) -> str:
    """Training in a few sentences: data, exclusions, split, leakage, choice."""
    data, split = summary["data"], summary["split"]
    excluded = ", ".join(f"{e['leads']:,} {e['reason']}" for e in summary["label"]["excluded"])
    periods = "; ".join(f"{name} {p[0]} to {p[1]}" for name, p in split["periods"].items())
    lines = [
        f"**{data['n_train'] + data['n_valid'] + data['n_test']:,} leads; label: "
        f"{summary['label']['meaning']}.** Left out: {excluded or 'none'}.",
        f"**Split ({split['method']}):** {periods or 'random'}.",
        f"Positives: {data['positives']}.",
        f"Chosen on validation PR-AUC: **{summary['chosen_model']}** "
        f"({summary['validation_pr_auc']}); calibration {summary['calibration']}.",
        f"Baseline: {summary['baseline']}.",
        *summary.get("notes", []),
    ]
    windows = summary.get("conversion_by_window", {})
    if windows:
        lines.append(
            "Conversion by window: "
            + "; ".join(
                f"{name} {w['rate']:.1%} ({w['conversions']:,} of {w['leads']:,})"
                for name, w in windows.items()
                if w["rate"] is not None
            )
            + "."
        )
    fitted = summary.get("fitted_on")
    if fitted:
        lines.append(
            f"**The evaluated and exported model is trained on {fitted['rows']}** "
            f"({fitted['n_rows']:,} leads); LightGBM trees: "
            f"{summary['lightgbm'].get('refit_trees', 'n/a')} (early stopping on validation "
            f"{summary['lightgbm'].get('early_stopping_metric', 'PR-AUC')} at "
            f"{summary['lightgbm']['best_iteration']})."
        )
    for warning in summary.get("warnings", []):
        if warning != split.get("warning"):
            lines.append(f"**Warning:** {warning}")
    if split.get("warning"):
        lines.append(f"**Warning:** {split['warning']}")
    excluded_cols = summary["leakage"]["excluded"]
    lines.append(
        "Leakage guard: "
        + (f"excluded {', '.join(excluded_cols)}." if excluded_cols else "no column flagged.")
    )
    return "\n\n".join(lines)


def leakage_table(result: TrainingResult) -> pd.DataFrame:
    """Flagged columns with their evidence and whether they were excluded."""
    rows = [flag.as_dict() for flag in result.leakage]
    columns = ["column", "action", "reason", "evidence", "detail", "params_change"]
    return pd.DataFrame(rows, columns=columns)


def validation_table(result: TrainingResult) -> pd.DataFrame:
    """Validation PR-AUC per scorer, the calibration chosen, and which model was chosen."""
    return pd.DataFrame(
        [
            {
                "scorer": name,
                "validation_pr_auc": value,
                "calibration": result.calibration.get(name, "isotonic (points)"),
                "chosen": name == result.chosen_model,
            }
            for name, value in result.validation_pr_auc.items()
        ]
    )


def columns_table(dataset: Dataset) -> pd.DataFrame:
    """How each input column was typed or why it was excluded (flat exports; else empty)."""
    if dataset.columns is None:
        return pd.DataFrame(
            {
                "note": [
                    "Leads and activities: features are engineered from the "
                    "data contract (see README)."
                ]
            }
        )
    return dataset.columns


def load_metrics(run: RunFolder) -> dict:
    """metrics.json of a run (written by the evaluation stage)."""
    if run.missing(runfolder.METRICS):
        raise FileNotFoundError(f"{run.metrics} is missing: run the evaluate stage first")
    return run.read(runfolder.METRICS)
