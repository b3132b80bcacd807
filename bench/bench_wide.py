"""A wide flat export: 2,000 rows x 2,000 columns (numbers, categories, flags, counts; a few
columns carry signal), through a whole run as a user would start it.

Target (2 cores): under 2 minutes. Prints its figures; not a test.
Usage: python bench/bench_wide.py [--rows N] [--columns K] [--notebooks] [--folder DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from scoring.cli import setup_logging
from scoring.core.config import load_params
from scoring.jobs.pipeline import run_pipeline


def write_export(path: Path, rows: int, columns: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=rows)
    data = {
        "Lead ID": [f"L{i}" for i in range(rows)],
        "Created": pd.date_range("2024-01-01", periods=rows, freq="6h").strftime("%Y-%m-%d %H:%M"),
    }
    for j in range(columns):
        kind = j % 4
        if kind == 0:
            data[f"num_{j}"] = np.round(rng.normal(size=rows) + (0.1 * signal if j < 40 else 0), 3)
        elif kind == 1:
            data[f"cat_{j}"] = rng.choice(list("abcde"), rows)
        elif kind == 2:
            data[f"flag_{j}"] = rng.choice(["yes", "no"], rows)
        else:
            data[f"count_{j}"] = rng.poisson(3, rows)
    data["Converted"] = (rng.random(rows) < 1 / (1 + np.exp(-(1.5 * signal - 2)))).astype(int)
    pd.DataFrame(data).to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000)
    parser.add_argument("--columns", type=int, default=2_000)
    parser.add_argument("--notebooks", action="store_true", help="as `leadscore run` (default)")
    parser.add_argument("--folder", type=Path, default=Path("/tmp/leadscore-bench-wide"))
    args = parser.parse_args()
    setup_logging()
    shutil.rmtree(args.folder, ignore_errors=True)
    args.folder.mkdir(parents=True)
    os.chdir(args.folder)
    write_export(Path("wide.csv"), args.rows, args.columns)
    flat = {"path": "wide.csv", "id_column": "Lead ID", "target_column": "Converted"}
    flat.update({"date_column": "Created", "min_positives": 20})
    params_file = Path("params.yaml")
    params_file.write_text(
        yaml.safe_dump(
            {
                "data": {"source": "flat", "reports_dir": "reports", "flat": flat},
                "models": {"backtest_folds": 0},
                "baseline": {"rules": []},
                "mlflow": {"tracking_uri": "sqlite:///mlflow.db", "artifact_dir": "mlartifacts"},
                "export": {"dir": "artifacts", "model_name": "wide"},
            }
        )
    )
    params = load_params(params_file)
    started = time.perf_counter()
    result = run_pipeline(params, params_file, [], "wide", notebooks=args.notebooks)
    total = time.perf_counter() - started
    mode = "notebooks" if args.notebooks else "in-process"
    print(f"{args.rows:,} rows x {args.columns:,} columns, {mode}: {total:.1f} s")
    print("  " + ", ".join(f"{s} {t:.1f} s" for s, t in result.seconds.items()))


if __name__ == "__main__":
    main()
