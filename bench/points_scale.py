"""How the points scale (`points.points_per_doubling`) costs the learned rules ranking, judged
without the test window.

Whole points tie leads whose weights differ; a finer scale ties fewer. For each cut of a
trained run's training months (the older part learns the rules, the newer part chooses them,
as training and validation do in a run), the rules are learned at each scale and judged on the
run's validation window: the share of the model's PR-AUC gain over the baseline they keep
there (the model's validation figure is its out-of-fold one). The test window is never read.
Prints the figures; not a test.

Usage: python bench/points_scale.py [--run-dir reports/latest] [--scales 10 20 40 100]
(`make run` first.)
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from scoring.core.config import load_params
from scoring.io.runfolder import LATEST, RunFolder
from scoring.jobs import stages
from scoring.model import points, train, training_record
from scoring.runtime.rules import scored

ROOT = Path(__file__).resolve().parents[1]
CUTS = (0.6, 0.7, 0.78)  # share of the training rows (oldest first) that learn the rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default=str(ROOT / "params.yaml"))
    parser.add_argument("--run-dir", default=None, help="a trained run (default: the latest)")
    parser.add_argument("--scales", type=float, nargs="+", default=[10, 20, 25, 40, 50, 100])
    args = parser.parse_args()
    params = load_params(args.params)
    folder = Path(args.run_dir or Path(params.data.reports_dir) / LATEST).resolve()
    run = stages.Run(RunFolder(folder))
    predictions, summary = training_record.load_outputs(run.folder)
    features = run.features(params)
    is_train = (predictions["split"] == "train").to_numpy()
    is_valid = (predictions["split"] == "valid").to_numpy()
    moment = pd.to_datetime(predictions["moment"])
    label = predictions["label"]
    y_valid = label.to_numpy()[is_valid]
    baseline = average_precision_score(y_valid, predictions["baseline_points"].to_numpy()[is_valid])
    model_column = train.out_of_fold_column(summary["chosen_model"])
    model = average_precision_score(y_valid, predictions[model_column].to_numpy()[is_valid])
    print(
        f"run {folder.name}: validation PR-AUC baseline {baseline:.4f}, "
        f"{summary['chosen_model']} (out of fold) {model:.4f}"
    )
    rows = []
    for cut in CUTS:
        edge = moment[is_train].quantile(cut)
        # Rows that are neither learn nor choose rows ("held") play no part in learning.
        assignment = pd.Series("held", index=predictions.index)
        assignment[is_train & (moment <= edge).to_numpy()] = "train"
        assignment[is_train & (moment > edge).to_numpy()] = "valid"
        for scale in args.scales:
            settings = params.points.model_copy(update={"points_per_doubling": scale})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rules, *_ = points.learn(
                    features, label, assignment, summary["features"], settings, params.seed
                )
            learned = scored(features, rules)["points"].to_numpy()[is_valid]
            pr_auc = average_precision_score(y_valid, learned)
            rows.append(
                {
                    "cut": cut,
                    "points a doubling": scale,
                    "kept": (pr_auc - baseline) / (model - baseline),
                    "distinct totals": len(np.unique(learned)),
                    "largest rule": max(abs(r.points) for r in rules),
                }
            )
    table = pd.DataFrame(rows)
    kept = table.pivot(index="points a doubling", columns="cut", values="kept")
    kept["mean"] = kept.mean(axis=1)
    print("\nshare of the model's validation PR-AUC gain kept, by training cut:")
    print(kept.map(lambda v: f"{v:.1%}").to_string())
    print("\nmean over the cuts:")
    print(
        table.groupby("points a doubling")[["distinct totals", "largest rule"]]
        .mean()
        .round(0)
        .to_string()
    )


if __name__ == "__main__":
    main()
