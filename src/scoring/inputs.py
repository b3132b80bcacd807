"""The edge where input data enters: pick the reader by data.source, return one Dataset."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from scoring import data, features, flat
from scoring.config import FeatureParams, Params


@dataclass(frozen=True)
class Inputs:
    """A dataset ready for training, the input's fingerprint and, if synthetic, the truth."""

    dataset: features.Dataset
    fingerprint: str
    oracle: pd.Series | None


def file_fingerprint(path: Path | str) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_inputs(params: Params) -> Inputs:
    """Leads and activities (synthetic or tables) or a flat export, as a Dataset."""
    if params.data.source == "flat":
        dataset = flat.build_dataset(params.data.flat)
        return Inputs(dataset, file_fingerprint(params.data.flat.path), None)
    tables = data.load_tables(params.data.leads_path, params.data.activities_path)
    dataset = features.build_dataset(tables, params.label, params.features)
    return Inputs(dataset, data.fingerprint(tables), data.load_truth(params.data, dataset.lead_ids))


def feature_params(params: Params) -> FeatureParams:
    """Leakage settings, with a flat export's allow_columns added to the features' own."""
    if params.data.flat is None or not params.data.flat.allow_columns:
        return params.features
    allowed = [*params.features.allow_columns, *params.data.flat.allow_columns]
    return params.features.model_copy(update={"allow_columns": allowed})
