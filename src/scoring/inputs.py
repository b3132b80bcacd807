"""The edge where input data enters, and the one place that branches on data.source:
leads and activities (synthetic or real tables) or a flat export, read into one Dataset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from scoring import data, features, flat
from scoring.config import FeatureParams, Params
from scoring.io.files import sha256


@dataclass(frozen=True)
class Inputs:
    """A dataset ready for training, the input's fingerprint and, if synthetic, the truth."""

    dataset: features.Dataset
    fingerprint: str
    oracle: pd.Series | None


def input_kind(params: Params) -> str:
    """'flat' for a flat export, 'tables' for leads and activities (synthetic or real); the
    artifact records the same word, so a model and a run can be matched."""
    return "flat" if params.data.source == "flat" else "tables"


def is_synthetic(params: Params) -> bool:
    """Whether the run generates its own data (and has the true probability as an oracle)."""
    return params.data.source == "synthetic"


def load_inputs(params: Params) -> Inputs:
    """Leads and activities (synthetic or tables) or a flat export, as a Dataset."""
    if input_kind(params) == "flat":
        dataset = flat.build_dataset(params.data.flat)
        return Inputs(dataset, sha256(params.data.flat.path), None)
    tables = data.load_tables(params.data.leads_path, params.data.activities_path)
    dataset = features.build_dataset(tables, params.label, params.features)
    oracle = data.load_truth(params.data, dataset.lead_ids) if is_synthetic(params) else None
    return Inputs(dataset, data.fingerprint(tables), oracle)


def preflight(params: Params) -> Inputs:
    """Read and check everything a run needs from the data before anything is written: the
    input against its contract, today's rules and the feature names in params against its
    fields (DataContractError, BaselineError or ParamsError, naming the file, the column and
    example rows)."""
    from scoring import baseline
    from scoring.config import ParamsError

    loaded = load_inputs(params)
    baseline.points(loaded.dataset.features, params.baseline)
    columns = loaded.dataset.features.columns
    for key, names in (
        ("features.drop_columns", params.features.drop_columns),
        ("points.fields", params.points.fields),
    ):
        unknown = [n for n in names if n not in columns]
        if unknown:
            raise ParamsError(
                f"{key} names {unknown}, which are not features; the features are: "
                + ", ".join(columns)
            )
    return loaded


def audit(params: Params) -> tuple[Any, str]:
    """The funnel audit (tables) or what a flat export allows, and its headline in Markdown."""
    from scoring import funnel

    if input_kind(params) == "flat":
        result = flat.audit_export(params.data.flat, params.funnel.min_segment_size)
        return result, flat.audit_markdown(result)
    tables = data.load_tables(params.data.leads_path, params.data.activities_path)
    result = funnel.audit_funnel(tables.leads, params.funnel)
    return result, funnel.headline_markdown(result)


def check(params: Params) -> str:
    """Read and validate the input as training would; a summary for people (raises on bad
    input with the file, column and example rows)."""
    if input_kind(params) == "flat":
        dataset = flat.build_dataset(params.data.flat)
        return (
            dataset.columns.to_string(index=False)
            + f"\nok: {len(dataset.label):,} leads, {int(dataset.label.sum()):,} converted, "
            f"{dataset.features.shape[1]} usable columns"
        )
    tables = data.load_tables(params.data.leads_path, params.data.activities_path)
    return (
        f"ok: {len(tables.leads):,} leads and {len(tables.activities):,} activities "
        "meet the contract"
    )


def feature_params(params: Params) -> FeatureParams:
    """Leakage settings, with a flat export's allow_columns added to the features' own."""
    if params.data.flat is None or not params.data.flat.allow_columns:
        return params.features
    allowed = [*params.features.allow_columns, *params.data.flat.allow_columns]
    return params.features.model_copy(update={"allow_columns": allowed})
