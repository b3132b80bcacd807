"""SHAP speed: contributions of the trained LightGBM for 10,000 test leads (target < 60 s).

Prints its figures; not a test. Usage: python bench/bench_shap.py [n_rows]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from scoring.core.config import load_params
from scoring.data import contract as data
from scoring.data import features, synth
from scoring.model import explain, train

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    n_rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    params = load_params(ROOT / "params.yaml")
    crm = synth.generate(params.generator, params.seed)
    tables = data.Tables(data.validate_leads(crm.leads), data.validate_activities(crm.activities))
    dataset = features.build_dataset(tables, params.label, params.features)
    models = params.models.model_copy(update={"backtest_folds": 0, "families": ["lightgbm"]})
    result = train.train_all(dataset, models, params.features, params.baseline, params.seed)
    X = dataset.features[result.feature_columns]
    rows = X[result.split.assignment.isin(["valid", "test"]).to_numpy()]
    rows = rows.sample(n=n_rows, replace=len(rows) < n_rows, random_state=0)
    start = time.perf_counter()
    explanation = explain.explain(result.models["lightgbm"], rows)
    shap_seconds = time.perf_counter() - start
    start = time.perf_counter()
    explain.reason_codes(explanation, dict(params.explain.wording))
    reason_seconds = time.perf_counter() - start
    trees = result.best_iteration
    print(
        f"rows explained: {len(rows):,}  features: {rows.shape[1]}  trees: {trees}  "
        f"leaves: {result.lightgbm_params['num_leaves']}"
    )
    print(
        f"SHAP (LightGBM pred_contrib): {shap_seconds:6.2f} s "
        f"({len(rows) / shap_seconds:,.0f} rows/s; target < 60 s)"
    )
    print(f"reason codes in words:        {reason_seconds:6.2f} s")


if __name__ == "__main__":
    main()
