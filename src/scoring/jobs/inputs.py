"""The edge where input data enters, and the one place that branches on data.source:
leads and activities (synthetic or real tables) or a flat export, read into one Dataset."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from scoring.audit import flat_export, funnel
from scoring.core.config import FeatureParams, Params, ParamsError, input_kind
from scoring.data import contract as data
from scoring.data import features, flat
from scoring.io import tables as tables_io
from scoring.io.files import read_json, sha256, write_json
from scoring.model import splits
from scoring.runtime import rules


@dataclass(frozen=True)
class Inputs:
    """A dataset ready for training, the input's fingerprint and, if synthetic, the truth."""

    dataset: features.Dataset
    fingerprint: str
    oracle: pd.Series | None


def is_synthetic(params: Params) -> bool:
    """Whether the run generates its own data (and has the true probability as an oracle)."""
    return params.data.source == "synthetic"


def load_inputs(params: Params) -> Inputs:
    """Leads and activities (synthetic or tables) or a flat export, as a Dataset."""
    if input_kind(params) == "flat":
        dataset = flat.build_dataset(params.data.flat)
        return Inputs(dataset, sha256(params.data.flat.path), None)
    tables = data.load_tables(params.data.leads_path, params.data.activities_path)
    dataset = features.build_dataset(
        tables,
        params.label,
        params.features,
        params.spark.master,
        params.seed,
        replay_from=partial(splits.replay_start, params=params.models, seed=params.seed),
    )
    oracle = data.load_truth(params.data, dataset.lead_ids) if is_synthetic(params) else None
    return Inputs(dataset, data.fingerprint(tables), oracle)


def preflight(params: Params) -> Inputs:
    """Read and check everything a run needs from the data before anything is written: the
    input against its contract, today's rules and the feature names in params against its
    fields (DataContractError, BaselineError or ParamsError, naming the file, the column and
    example rows)."""

    loaded = load_inputs(params)
    rules.points(loaded.dataset.features, params.baseline)
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

    if input_kind(params) == "flat":
        result = flat_export.audit_export(params.data.flat, params.funnel.min_segment_size)
        return result, flat_export.audit_markdown(result)
    tables = data.load_tables(params.data.leads_path, params.data.activities_path)
    spend, accounts = (
        _optional_table(params.data.spend_path),
        _optional_table(params.data.target_accounts_path),
    )
    result = funnel.audit_funnel(
        tables.leads,
        params.funnel,
        spend,
        accounts,
        (str(params.data.spend_path), str(params.data.target_accounts_path)),
    )
    return result, funnel.headline_markdown(result)


def deal_leads(params: Params) -> pd.DataFrame | None:
    """The leads table (validated) when it holds opportunity amounts, for the thresholds in
    money; None for a flat export or a table without amounts."""
    if input_kind(params) == "flat":
        return None
    path = params.data.leads_path
    frame = data.read_table(path)
    if "opportunity_amount" not in frame.columns:
        return None
    return data.validate_leads(frame, str(path))


def _optional_table(path: Path | None) -> pd.DataFrame | None:
    """An optional table of the audit (spend, target accounts), or None when it is not there."""
    if path is None or not Path(path).is_file():
        return None
    return tables_io.read_table(path)


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


def _settings(params: Params) -> str:
    """What reading the input depends on, as one digest: the settings that shape it and the
    input files as they are on disk (size and time), so a cache of other settings or of
    files changed since is not used."""

    keys = ("seed", "data", "generator", "label", "features")
    document = {k: v for k, v in params.model_dump(mode="json").items() if k in keys}
    # An any-age input builds a training lead's moments only where drawn: the split says
    # which leads those are.
    split = ("valid_months", "test_months", "min_train_share", "valid_fraction", "test_fraction")
    document["split"] = {k: getattr(params.models, k) for k in split}
    files = (
        [params.data.flat.path]
        if input_kind(params) == "flat"
        else [params.data.leads_path, params.data.activities_path]
    )
    document["files"] = [
        [str(f), Path(f).stat().st_size, Path(f).stat().st_mtime_ns] if Path(f).is_file() else None
        for f in files
    ]
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def cache_current(params: Params, run) -> bool:
    """Whether the run folder holds the input as these settings and files read it."""
    return (
        run.inputs_json.is_file()
        and run.inputs.is_file()
        and run.features.is_file()
        and read_json(run.inputs_json).get("settings") == _settings(params)
    )


def save_cache(loaded: Inputs, params: Params, run) -> bool:
    """The input as read for this run, into its folder (features.parquet, inputs.parquet,
    inputs.json): the notebooks of the run read it instead of reading and typing the input
    again. Only for inputs indexed 0..n-1 (all of leadscore's); returns whether it wrote."""
    ds = loaded.dataset
    if not ds.features.index.equals(pd.RangeIndex(len(ds.features))):
        return False
    series = {"label": ds.label, "moment": ds.moment, "lead_ids": ds.lead_ids}
    if ds.order is not None:
        series["order"] = ds.order
    if loaded.oracle is not None:
        series["oracle"] = loaded.oracle.reset_index(drop=True)
    frame = pd.DataFrame({k: v.reset_index(drop=True) for k, v in series.items()})
    if ds.segments is not None:
        for column in ds.segments.columns:
            frame[f"segment:{column}"] = ds.segments[column].to_numpy()
    ds.features.to_parquet(run.features)
    frame.to_parquet(run.inputs)
    if ds.snapshots is not None:
        snapshot_frame(ds.snapshots).to_parquet(run.snapshots)
    else:
        run.snapshots.unlink(missing_ok=True)  # none from an earlier read with other settings
    write_json(
        run.inputs_json,
        {
            "settings": _settings(params),
            "fingerprint": loaded.fingerprint,
            "names": {k: v.name for k, v in series.items()},
            "snapshot": None if pd.isna(ds.snapshot) else ds.snapshot.isoformat(),
            "exclusions": ds.exclusions.to_dict(orient="records"),
            "exclusion_columns": list(ds.exclusions.columns),
            "columns": None if ds.columns is None else ds.columns.to_dict(orient="records"),
            "notes": ds.notes,
            "description": ds.description,
            "sampling": ds.sampling,
        },
    )
    return True


def load_cache(params: Params, run) -> Inputs | None:
    """The input as the run read it (save_cache), or None when there is none for these
    settings."""
    if not cache_current(params, run):
        return None
    meta = read_json(run.inputs_json)
    frame = pd.read_parquet(run.inputs)
    names = meta["names"]

    def series(key: str) -> pd.Series | None:
        return frame[key].rename(names[key]) if key in frame.columns else None

    segment_columns = [c for c in frame.columns if c.startswith("segment:")]
    segments = (
        frame[segment_columns].rename(columns=lambda c: c.removeprefix("segment:"))
        if segment_columns
        else None
    )
    dataset = features.Dataset(
        features=pd.read_parquet(run.features),
        label=series("label"),
        moment=series("moment"),
        lead_ids=series("lead_ids"),
        exclusions=pd.DataFrame(meta["exclusions"], columns=meta["exclusion_columns"]),
        snapshot=pd.NaT if meta["snapshot"] is None else pd.Timestamp(meta["snapshot"]),
        order=series("order"),
        segments=segments,
        columns=None if meta["columns"] is None else pd.DataFrame(meta["columns"]),
        notes=meta["notes"],
        description=meta["description"],
        sampling=meta.get("sampling"),
        snapshots=read_snapshots(run.snapshots) if run.snapshots.is_file() else None,
    )
    return Inputs(dataset, meta["fingerprint"], series("oracle"))


# An any-age model's snapshots in one table: their features, and these columns besides.
SNAPSHOT_COLUMNS = {
    "label": "__label",
    "moment": "__moment",
    "lead_ids": "__lead_id",
    "age_days": "__age_days",
    "lead_moment": "__lead_moment",
    "drawn": "__drawn",
    "comeback": "__comeback",
}


def snapshot_frame(snapshots: features.Snapshots) -> pd.DataFrame:
    """The snapshots as one table (features, then label, moment, lead, age, lead's moment)."""
    extra = {
        column: getattr(snapshots, field).to_numpy() for field, column in SNAPSHOT_COLUMNS.items()
    }
    return snapshots.features.assign(**extra)


def read_snapshots(path) -> features.Snapshots:
    """The snapshots a run saved (snapshot_frame)."""
    frame = pd.read_parquet(path)
    parts = {field: frame[column] for field, column in SNAPSHOT_COLUMNS.items()}
    return features.Snapshots(
        features=frame.drop(columns=list(SNAPSHOT_COLUMNS.values())),
        **{field: values.rename(None) for field, values in parts.items()},
    )
