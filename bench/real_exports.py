"""leadscore against the ecosystem on real CRM exports: the same test rows, three scorers.

For every real export it knows (or one given with --params), this runs `leadscore run` as a
user would, then on leadscore's own test rows (its out-of-time split) trains:
- a plain LightGBM script (300 trees, learning rate 0.03, 15 leaves) on every row before the
  test window, all columns but the id, the target and the columns the export's README names as
  known only after the outcome;
- FLAML (`pip install -e '.[bench]'`) on the same rows and columns, with a time budget equal
  to leadscore's training time.
It prints ROC-AUC, PR-AUC and expected calibration error side by side, and leadscore's wall
time. Figures are printed, not asserted.

    .venv/bin/python bench/real_exports.py                 # every known export
    .venv/bin/python bench/real_exports.py --only bank-marketing
    .venv/bin/python bench/real_exports.py --params my.yaml --leak "Call Duration"
    .venv/bin/python bench/real_exports.py --max-categories 50 1000   # the cut-off's effect

`synthetic-crm-export` is our own generated export (`make data` writes it), not real data: it
has a 100-level job title for the category cut-off, and planted sales-process leaks.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from scoring.core.config import load_params
from scoring.data import flat
from scoring.model import points_page
from scoring.model.evaluate import expected_calibration_error

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Export:
    """A real export: its params file and the columns known only after the outcome."""

    name: str
    params: Path
    leaks: tuple[str, ...] = ()


EXPORTS = (
    # duration (length of the call) is known only after the call (the data set's README).
    Export("bank-marketing", ROOT / "examples" / "bank_marketing.yaml", ("duration",)),
    Export(
        "synthetic-crm-export",
        ROOT / "examples" / "flat_export.yaml",
        (
            "Lead Status",
            "Lead Rating",
            "Lead Owner",
            "Sales Activities",
            "Last Activity Date",
            "Converted Date",
            "Email Opens",
            "Email Clicks",
            "Total Activities",
            "First Name",
            "Last Name",
            "Email",
            "Company",
            "Lead Number",
        ),
    ),
)


def run_leadscore(params: Path, overrides: list[str], name: str) -> tuple[Path, float]:
    """`leadscore run` as a user runs it; (run folder, wall seconds)."""
    command = [str(Path(sys.executable).parent / "leadscore"), "run", "--params", str(params)]
    command += [f"--set={item}" for item in overrides] + ["--run-name", f"bench-{name}"]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"leadscore run failed on {name}:\n{done.stderr[-3000:]}")
    reports = Path(load_params(params, overrides).data.reports_dir)
    return (reports / "latest").resolve(), seconds


def plain_frame(params_path: Path, overrides: list[str], leaks: tuple[str, ...]):
    """(features, label, row ids) as a ten-line script would read the export."""
    settings = load_params(params_path, overrides).data.flat
    path = Path(settings.path)
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, sep=None)
    frame, id_column = flat.with_row_ids(frame, settings.id_column)
    positives = {str(v).strip().lower() for v in settings.positive_values}
    label = frame[settings.target_column].astype(str).str.strip().str.lower().isin(positives)
    roles = {id_column, settings.target_column, settings.date_column, settings.order_column}
    dropped = roles | set(leaks) | set(settings.drop_columns)
    features = frame.drop(columns=[c for c in frame.columns if c in dropped])
    for column in features.columns:
        if not pd.api.types.is_numeric_dtype(features[column]):
            features[column] = features[column].astype("category")
    return features, label.astype(int), frame[id_column].astype(str)


def scores(label: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    return {
        "roc_auc": roc_auc_score(label, probability),
        "pr_auc": average_precision_score(label, probability),
        "ece": expected_calibration_error(label, probability),
    }


def compare(
    export: Export, overrides: list[str], flaml_budget: float | None, max_categories: list[int]
) -> pd.DataFrame:
    settings = [[*overrides, f"data.flat.max_categories={n}"] for n in max_categories]
    runs = [(*run_leadscore(export.params, s, export.name), s) for s in settings or [overrides]]
    run, wall, _ = runs[0]
    predictions = pd.read_parquet(run / "predictions.parquet")
    training = json.loads((run / "training.json").read_text())
    features, label, ids = plain_frame(export.params, overrides, export.leaks)
    position = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    split = predictions.set_index(predictions["lead_id"].astype(str))["split"]
    is_pre = ids.map(split).isin(["train", "valid"]).to_numpy()
    test = predictions[predictions["split"] == "test"]
    rows = position.loc[test["lead_id"].astype(str)].to_numpy()
    y_test = label.to_numpy()[rows]
    out = []
    for folder, _, setting in runs:
        other = pd.read_parquet(folder / "predictions.parquet").set_index("lead_id")
        model = json.loads((folder / "training.json").read_text())["chosen_model"]
        probability = other.loc[test["lead_id"], model].to_numpy()
        label_name = f"leadscore ({model})"
        if max_categories:
            label_name += f" max_categories={setting[-1].split('=')[1]}"
        out.append({"scorer": label_name, **scores(y_test, probability)})

    rules_file = run / "points_rules.json"
    if rules_file.is_file():
        # The learned point rules, on the same test rows (figures from the run's points stage).
        learned = json.loads(rules_file.read_text())
        ranking = learned["evaluation"]["ranking"]["points"]
        out.append(
            {
                "scorer": f"leadscore point rules ({len(learned['rules'])} rules)",
                "roc_auc": ranking["roc_auc"]["value"],
                "pr_auc": ranking["pr_auc"]["value"],
                "ece": np.nan,
            }
        )

    model = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.03, num_leaves=15, verbose=-1)
    model.fit(features[is_pre], label[is_pre])
    plain = model.predict_proba(features.iloc[rows])[:, 1]
    out.append({"scorer": "plain LightGBM", **scores(y_test, plain)})

    budget = flaml_budget or max(training.get("seconds", 30.0), 10.0)
    try:
        from flaml import AutoML
    except ImportError:
        print("FLAML is not installed: pip install -e '.[bench]'", file=sys.stderr)
    else:
        automl = AutoML()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            automl.fit(
                features[is_pre],
                label[is_pre],
                task="classification",
                metric="roc_auc",
                time_budget=budget,
                n_jobs=2,
                seed=7,
                verbose=0,
            )
        probability = automl.predict_proba(features.iloc[rows])[:, 1]
        out.append(
            {
                "scorer": f"FLAML {budget:.0f} s ({automl.best_estimator})",
                **scores(y_test, probability),
            }
        )
    table = pd.DataFrame(out)
    table.insert(0, "export", export.name)
    print(
        f"\n{export.name}: {int(is_pre.sum()):,} rows before the test window, "
        f"{len(rows):,} test rows ({int(y_test.sum()):,} positives); leadscore run "
        f"{wall:.0f} s wall, training stage {training.get('seconds', float('nan')):.0f} s; "
        f"run folder {run}"
    )
    print(table.drop(columns="export").round(4).to_string(index=False))
    if rules_file.is_file():
        print("\nlearned point rules:")
        print("\n".join(line.replace("**", "") for line in points_page.summary_lines(learned)))
        for rule in learned["rules"]:
            print(f"  {rule['kind']:<9} {rule['points']:+5d}  {rule['rule']}")
    plain_auc = table.loc[table["scorer"] == "plain LightGBM", "roc_auc"].iloc[0]
    for row in table[
        table["scorer"].str.startswith("leadscore") & ~table["scorer"].str.contains("point rules")
    ].itertuples():
        gap = row.roc_auc - plain_auc
        print(f"{row.scorer} ROC-AUC - plain LightGBM: {gap:+.4f} (target >= +0.005)")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="name of one known export")
    parser.add_argument("--params", type=Path, help="params file of another flat export")
    parser.add_argument("--leak", action="append", default=[], help="column known after outcome")
    parser.add_argument("--set", action="append", default=[], help="override for leadscore")
    parser.add_argument("--flaml-seconds", type=float, help="FLAML budget (default: leadscore's)")
    parser.add_argument(
        "--max-categories", type=int, nargs="*", default=[], help="data.flat.max_categories values"
    )
    args = parser.parse_args()
    if args.params:
        exports = [Export(args.params.stem, args.params.resolve(), tuple(args.leak))]
    else:
        exports = [e for e in EXPORTS if args.only in (None, e.name)]
        if not exports:
            raise SystemExit(f"unknown export {args.only!r}; known: {[e.name for e in EXPORTS]}")
    if any(e.name == "synthetic-crm-export" for e in exports):
        from scoring.core.config import load_params
        from scoring.jobs.pipeline import ensure_synthetic_data

        # On a fresh clone there is no export yet: make the default synthetic CRM, as make run.
        ensure_synthetic_data(load_params(ROOT / "params.yaml"))
    tables = [compare(e, args.set, args.flaml_seconds, args.max_categories) for e in exports]
    print("\nall exports")
    print(pd.concat(tables).round(4).to_string(index=False))


if __name__ == "__main__":
    main()
