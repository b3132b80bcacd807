"""The portable scoring artifact at scoring time: a folder of plain files (text model, JSON),
no pickle, loaded and verified.

Training writes its draft (model.draft); export completes it with the threshold policy, the
reason wording, the model card and a manifest holding the sha256 of every file. Loading
verifies the manifest, so a tampered or incomplete artifact is refused before it scores
anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scoring.io.files import sha256, write_json

FORMAT = "leadscore-artifact"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
LIGHTGBM_FILE = "model.txt"
LOGISTIC_FILE = "logistic.json"
CALIBRATION_FILE = "calibration.json"
PREPROCESSING_FILE = "preprocessing.json"
PROFILE_FILE = "reference_profile.json"
THRESHOLDS_FILE = "thresholds.json"
WORDING_FILE = "wording.json"
SCHEMA_FILE = "input_schema.json"
CARD_JSON = "model_card.json"
POINTS_FILE = "points_rules.json"  # the learned point rules, when the run learned them
CARD_MD = "model_card.md"
REQUIRED = (
    CALIBRATION_FILE,
    PREPROCESSING_FILE,
    PROFILE_FILE,
    THRESHOLDS_FILE,
    WORDING_FILE,
    SCHEMA_FILE,
    CARD_JSON,
    CARD_MD,
)
# The leads columns scoring reads (outcome and personal-name columns are not needed).
SCORING_LEAD_COLUMNS = (
    "lead_id",
    "created_at",
    "email",
    "job_title",
    "industry",
    "employee_count",
    "annual_revenue",
    "country",
    "region",
    "lead_source",
    "campaign",
)
# Bytes that start a pickle stream (protocol 2 to 5) or a zip (joblib/skops/cloudpickle bundles).
PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05", b"PK\x03\x04")


def lead_columns(tables: dict) -> list[str]:
    """The leads columns scoring reads for a model of leads and activities (`tables`: its
    preprocessing's settings): an MQL-moment model's mql_at, an any-age model's status
    timestamps (blank values allowed)."""
    columns = list(SCORING_LEAD_COLUMNS)
    if tables["scoring_moment"] == "mql":
        columns.append("mql_at")
    return [*columns, *tables.get("status_columns", [])]


class ArtifactError(Exception):
    """The artifact is missing, incomplete, tampered with or of an unknown format."""


# --- draft: written where the fitted model lives ---------------------------------------------


def input_schema(preprocessing: dict) -> dict:
    """The columns a scoring input must (and may) have, with their types."""
    if preprocessing["source"] == "flat":
        flat = preprocessing["flat"]
        columns = (
            [{"name": flat["id_column"], "type": "string", "required": True}]
            if flat["id_column"]
            else []  # no id column: output rows are named by their line number
        )
        if flat["date_column"]:
            columns.append({"name": flat["date_column"], "type": "datetime", "required": True})
        kinds = {"numeric": "double", "boolean": "boolean", "datetime": "datetime"}
        columns += [
            {"name": c["column"], "type": kinds.get(c["kind"], "string"), "required": False}
            for c in flat["columns"]
        ]
        return {"kind": "flat export", "columns": columns, "missing_columns": "error"}
    from scoring.data.contract import ACTIVITY_COLUMNS

    return {
        "kind": "leads and activities (data/README.md)",
        "leads": lead_columns(preprocessing["tables"]),
        "leads_required_values": ["lead_id", "created_at"],
        "activities": list(ACTIVITY_COLUMNS),
        "features": preprocessing["features"],
    }


# --- loading and predicting ------------------------------------------------------------------


@dataclass
class LogisticModel:
    """Exact re-implementation of the exported logistic pipeline's decision function."""

    document: dict

    def parts(self, features: pd.DataFrame) -> np.ndarray:
        """Each input column's share of the logit (rows x columns, intercept excluded)."""
        doc = self.document
        out = np.zeros((len(features), len(doc["columns"])))
        position = {c: i for i, c in enumerate(doc["columns"])}
        for entry in doc["numeric"]:
            values = pd.to_numeric(features[entry["column"]], errors="coerce").to_numpy(float)
            values = np.where(np.isnan(values), entry["median"], values)
            values = np.sign(values) * np.log1p(np.abs(values))
            out[:, position[entry["column"]]] = (
                (values - entry["mean"]) / entry["scale"] * entry["weight"]
            )
        for entry in doc["categorical"]:
            weights = features[entry["column"]].astype(str).map(entry["levels"])
            # Rare and unknown levels go to the infrequent column when there is one
            # (handle_unknown="infrequent_if_exist"), otherwise they add nothing.
            other = entry["infrequent_weight"]
            fallback = 0.0 if other is None else other
            out[:, position[entry["column"]]] = weights.fillna(fallback).to_numpy(float)
        return out

    def decision(self, features: pd.DataFrame) -> np.ndarray:
        """The logit: intercept plus every column's part."""
        return self.document["intercept"] + self.parts(features).sum(axis=1)

    def contributions(self, features: pd.DataFrame) -> tuple[np.ndarray, float]:
        """Exact linear SHAP per input column against the training-window means."""
        reference = np.asarray(self.document["reference"], dtype=float)
        base = self.document["intercept"] + float(reference.sum())
        return self.parts(features) - reference, base


@dataclass
class Artifact:
    """A verified, loaded artifact: score feature frames with predict_proba."""

    path: Path
    preprocessing: dict
    calibration: dict
    thresholds: dict
    wording: dict
    card: dict
    profile: dict
    manifest: dict
    booster: Any = None
    logistic: LogisticModel | None = None
    # The learned rules and their MQL threshold in points (model.points; applied by rules).
    points: dict | None = None
    _trees: Any = (
        None  # the booster compiled for batch scoring (scoring.runtime.trees), on first use
    )

    @property
    def features(self) -> list[str]:
        return self.preprocessing["features"]

    @property
    def version(self) -> str:
        """v<N> for a stored version, else the run id it was exported from."""
        name = self.path.name
        return name if name[:1] == "v" and name[1:].isdigit() else str(self.card.get("run_id"))

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        """The LightGBM input: numbers as floats, categories as codes of the training levels
        (unseen or missing -> NaN, as in training). Feature-major (order "F"): each column is
        contiguous, as the compiled trees read it, and filled without a copy."""
        levels = self.preprocessing.get("levels", {})
        out = np.empty((len(features), len(self.features)), order="F")
        for position, column in enumerate(self.features):
            values = features[column]
            if column in levels:
                # Arrow's hash look-up: a third of the time of pandas' get_indexer.
                known = pa.array(levels[column])
                codes = pc.index_in(pa.array(values.astype(str)), value_set=known)
                out[:, position] = codes.to_numpy(zero_copy_only=False)  # unseen: null -> NaN
            else:
                out[:, position] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        return out

    @property
    def trees(self):
        """The booster compiled for batch scoring: raw scores equal to LightGBM's predict,
        exact TreeSHAP equal to its pred_contrib, several times faster (built once)."""
        if self._trees is None:
            # numba compiles on first use: loading an artifact (verify, promote) needs none.
            from scoring.runtime.trees import CompiledTrees

            self._trees = CompiledTrees(self.booster)
        return self._trees

    def prepare_scoring(self, reasons: bool) -> None:
        """Build what scoring will need (the compiled trees, their TreeSHAP tables with
        reasons) ahead of the first rows."""
        if "lightgbm" in self.weights:
            trees = self.trees
            if reasons and trees.tabled:
                trees.arrays.tables  # noqa: B018 (built on first access)

    @property
    def weights(self) -> dict[str, float]:
        """Each member's weight in the log-odds: one member, or a blend's two."""
        return self.preprocessing.get("weights") or {self.preprocessing["family"]: 1.0}

    def raw_output(self, features: pd.DataFrame, matrix: np.ndarray | None = None) -> np.ndarray:
        """What the calibrator was fitted on: the model's log-odds (decision function).
        `matrix` is self.matrix(features) when the caller has it already."""
        total = np.zeros(len(features))
        for member, weight in self.weights.items():
            if member == "lightgbm":
                matrix = self.matrix(features) if matrix is None else matrix
                total += weight * self.trees.raw_score(matrix)
            else:
                total += weight * self.logistic.decision(features)
        return total

    def predict_proba(self, features: pd.DataFrame, matrix: np.ndarray | None = None) -> np.ndarray:
        """Calibrated probability of conversion per row."""
        return calibrate(self.calibration, self.raw_output(features, matrix), features)

    def contributions(
        self, features: pd.DataFrame, matrix: np.ndarray | None = None
    ) -> tuple[np.ndarray, float]:
        """SHAP contributions (log-odds, rows x features) and the base value; a blend's are
        its members' weighted sum (SHAP is additive)."""
        total, base = None, 0.0
        for member, weight in self.weights.items():
            if member == "lightgbm":
                matrix = self.matrix(features) if matrix is None else matrix
                parts = self.trees.contributions(matrix)[:, :-1]
                member_base = self.trees.expected_value
            else:
                parts, member_base = self.logistic.contributions(features)
            weighted = parts if weight == 1.0 else weight * parts
            total = weighted if total is None else total + weighted
            base += weight * member_base
        return total, base


def calibrate(document: dict, raw: np.ndarray, features: pd.DataFrame | None = None) -> np.ndarray:
    """The mean of the per-fold calibrators, as CalibratedClassifierCV computes it; then, for
    an any-age model, its shift by lead age (`age_offsets`, read from `features`); then, for
    an artifact recalibrated on the newest labelled leads, their sigmoid (`newest`)."""
    total = np.zeros(len(raw))
    for fold in document["folds"]:
        if document["method"] == "isotonic":
            clipped = np.clip(raw, fold["x_min"], fold["x_max"])
            total += np.interp(clipped, fold["x"], fold["y"])
        else:
            total += 1.0 / (1.0 + np.exp(fold["a"] * raw + fold["b"]))
    probability = total / len(document["folds"])
    by_age = document.get("age_offsets")
    if by_age is not None:
        if features is None or by_age["column"] not in features:
            raise ValueError(f"this model is calibrated by lead age: it needs {by_age['column']}")
        probability = shift_by_age(by_age, probability, features[by_age["column"]])
    newest = document.get("newest")
    return probability if newest is None else recalibrate(newest, probability)


def shift_by_age(by_age: dict, probability, age) -> np.ndarray:
    """Probabilities moved in log-odds by the offset of each lead's age: the offsets fitted at
    the training ages (`ages`, `offsets`), linear between them and flat beyond the ends."""
    shift = np.interp(np.asarray(age, dtype=float), by_age["ages"], by_age["offsets"])
    return 1.0 / (1.0 + np.exp(-(logit(probability) + shift)))


# Probabilities of exactly 0 or 1 (isotonic ends) have no log-odds: kept this far inside.
LOGIT_EPSILON = 1e-6


def logit(probability) -> np.ndarray:
    """Log-odds of probabilities, clipped away from 0 and 1."""
    p = np.clip(np.asarray(probability, dtype=float), LOGIT_EPSILON, 1 - LOGIT_EPSILON)
    return np.log(p / (1 - p))


def recalibrate(newest: dict, probability) -> np.ndarray:
    """A probability through the sigmoid fitted on the newest labelled leads, 1 / (1 +
    exp(a * logit(p) + b)): monotone when a < 0, so every lead keeps its rank."""
    return 1.0 / (1.0 + np.exp(newest["a"] * logit(probability) + newest["b"]))


def write_manifest(folder: Path | str, extra: dict | None = None) -> Path:
    """manifest.json: format, version and the sha256 of every other file in the folder."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "files": {p.relative_to(folder).as_posix(): sha256(p) for p in files},
        **(extra or {}),
    }
    return write_json(folder / MANIFEST, document, canonical=True)


def verify(folder: Path | str) -> dict:
    """Check the manifest against the files; return it, or raise ArtifactError saying what is
    wrong (missing manifest, unknown format, missing, extra or changed files, pickles)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArtifactError(f"{folder}: no such artifact folder")
    path = folder / MANIFEST
    if not path.is_file() or path.is_symlink():
        raise ArtifactError(f"{folder}: no {MANIFEST}; not a complete leadscore artifact")
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ArtifactError(f"{path}: unreadable manifest ({err})") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: format {manifest.get('format')!r} version "
            f"{manifest.get('format_version')!r}; expected {FORMAT!r} version {FORMAT_VERSION}"
        )
    listed = manifest.get("files", {})
    entries = list(folder.rglob("*"))
    # A link (even to an identical copy) or a device inside a version could point anywhere
    # later: only regular files and folders are an artifact.
    problems = [
        f"{'a link' if p.is_symlink() else 'not a regular file'}, not allowed in an artifact: "
        f"{p.relative_to(folder).as_posix()}"
        for p in entries
        if p.is_symlink() or not (p.is_file() or p.is_dir())
    ]
    present = {
        p.relative_to(folder).as_posix()
        for p in entries
        if p.is_file() and not p.is_symlink() and p.name != MANIFEST
    }
    problems += [f"missing: {name}" for name in sorted(set(listed) - present)]
    problems += [f"not in the manifest: {name}" for name in sorted(present - set(listed))]
    for name in sorted(set(listed) & present):
        if sha256(folder / name) != listed[name]:
            problems.append(f"changed since export (sha256 differs): {name}")
    required = [*REQUIRED, LIGHTGBM_FILE if LIGHTGBM_FILE in listed else LOGISTIC_FILE]
    problems += [f"required file not listed: {name}" for name in required if name not in listed]
    problems += [f"pickle-like content: {name}" for name in find_pickles(folder)]
    if problems:
        raise ArtifactError(f"{folder}: artifact refused; " + "; ".join(problems))
    return manifest


def find_pickles(folder: Path | str) -> list[str]:
    """Files that look like pickles or zip bundles (by name or magic bytes)."""
    folder = Path(folder)
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with open(path, "rb") as handle:
            head = handle.read(4)
        suffix = path.suffix.lower()
        if suffix in (".pkl", ".pickle", ".joblib", ".skops") or head.startswith(PICKLE_MAGIC):
            found.append(path.relative_to(folder).as_posix())
    return found


def _read(folder: Path, name: str) -> Any:
    try:
        return json.loads((folder / name).read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ArtifactError(f"{folder / name}: unreadable JSON ({err})") from None


def load(folder: Path | str) -> Artifact:
    """Verify and load an artifact folder (or a model folder whose `champion` link points to
    one)."""
    folder = resolve_folder(Path(folder))
    manifest = verify(folder)
    preprocessing = _read(folder, PREPROCESSING_FILE)
    artifact = Artifact(
        path=folder,
        preprocessing=preprocessing,
        calibration=_read(folder, CALIBRATION_FILE),
        thresholds=_read(folder, THRESHOLDS_FILE),
        wording=_read(folder, WORDING_FILE),
        card=_read(folder, CARD_JSON),
        profile=_read(folder, PROFILE_FILE),
        manifest=manifest,
    )
    if (folder / POINTS_FILE).is_file():
        artifact.points = _read(folder, POINTS_FILE)
    if "lightgbm" in artifact.weights:
        import lightgbm as lgb  # only LightGBM artifacts need it (with scikit-learn: 1.7 s)

        artifact.booster = lgb.Booster(model_str=(folder / LIGHTGBM_FILE).read_text("utf-8"))
    if "logistic" in artifact.weights:
        artifact.logistic = LogisticModel(_read(folder, LOGISTIC_FILE))
    return artifact


def resolve_folder(folder: Path) -> Path:
    """An artifact folder itself, or the champion of a model folder (artifacts/<model>)."""
    if (folder / MANIFEST).is_file():
        return folder
    champion = folder / "champion"
    if champion.exists():
        return champion.resolve()
    versions = sorted(p.name for p in folder.glob("v*") if (p / MANIFEST).is_file())
    if champion.is_symlink():  # the link is there, the version it names is not
        raise ArtifactError(
            f"{champion} points at {champion.readlink()}, which is missing (versions here: "
            f"{', '.join(versions) or 'none'}): `leadscore promote <version>` or "
            "`leadscore rollback` repairs it"
        )
    if versions:
        raise ArtifactError(
            f"{folder} has no champion yet (versions: {', '.join(versions)}): run "
            "`leadscore retrain`, or `leadscore promote <version>` after reading its report"
        )
    return folder
