"""Flat export vs. leads + activities on the same leads: test ROC-AUC of each mode's model.

The flat export counts activity up to the export date and carries status fields; once the
leakage guard has excluded what leaks, its model should land within 0.03 ROC-AUC of the
point-in-time model. Prints its figures. Usage: python bench/compare_flat_tables.py [n_leads]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from sklearn.metrics import roc_auc_score

from scoring.core.config import FlatParams, load_params
from scoring.data import contract as data
from scoring.data import features, flat, synth
from scoring.model import train

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    n_leads = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    params = load_params(ROOT / "params.yaml", [f"generator.n_leads={n_leads}"])
    models = params.models.model_copy(update={"backtest_folds": 0})
    crm = synth.generate(params.generator, params.seed)
    tables = data.Tables(data.validate_leads(crm.leads), data.validate_activities(crm.activities))
    dataset = features.build_dataset(tables, params.label, params.features)
    tables_result = train.train_all(dataset, models, params.features, params.baseline, params.seed)
    export = synth.flat_export(crm.leads, crm.activities, crm.snapshot)
    export = export[export["Prospect ID"].isin(set(dataset.lead_ids))]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crm_export.csv"
        export.to_csv(path, index=False)
        flat_params = FlatParams(
            path=str(path),
            id_column="Prospect ID",
            target_column="Converted",
            date_column="Created Date",
        )
        flat_dataset = flat.build_dataset(flat_params)
        no_rules = params.baseline.model_copy(update={"rules": []})
        flat_result = train.train_all(flat_dataset, models, params.features, no_rules, params.seed)
    print(f"leads in both modes: {len(dataset.label):,}")
    print(
        "flagged in the flat export: "
        + ", ".join(f"{f.column} ({f.reason})" for f in flat_result.leakage)
    )
    figures = {}
    for mode, result in (("tables", tables_result), ("flat", flat_result)):
        test = result.predictions[result.predictions["split"] == "test"]
        figures[mode] = roc_auc_score(test["label"], test[result.chosen_model])
        print(
            f"{mode:<7} test leads {len(test):,}, chosen {result.chosen_model}, "
            f"test ROC-AUC {figures[mode]:.4f}"
        )
    gap = figures["flat"] - figures["tables"]
    print(f"difference (flat - tables): {gap:+.4f} (target: within 0.03)")


if __name__ == "__main__":
    main()
