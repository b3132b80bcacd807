"""Training at scale: load + validate, point-in-time features and LightGBM on 1M synthetic leads.

Targets (2 cores): under 5 minutes; under 4 GB with one moment a lead (activities stay on
disk, DuckDB features), and the any-age default within twice the one-moment figure (it holds
every validation and test lead at each open age: 5.0 GiB against 2.6 GiB, README).
Prints its figures; not a test.
Usage: python bench/bench_train.py [n_leads] [--data DIR] [--set section.key=value ...]
The data is generated first in a separate process, so its memory is not counted here.
With the default params it measures an any-age model as the pipeline builds it: every
validation and test lead at each open age, a training lead at its drawn ages, and LightGBM on
the moments drawn to learn from; `--set 'label.snapshot_days=[]'` measures one moment a lead.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from scoring.core.config import load_params
from scoring.data import contract as data
from scoring.data import features
from scoring.model import any_age, splits, train

ROOT = Path(__file__).resolve().parents[1]


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n_leads", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=Path("/tmp/leadscore-bench"))
    parser.add_argument("--set", action="append", default=[], help="params override")
    args = parser.parse_args()
    folder = args.data / str(args.n_leads)
    if not (folder / "activities.parquet").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "bench_generate.py"),
                str(args.n_leads),
                "--write",
                str(folder),
            ],
            check=True,
        )
    params = load_params(ROOT / "params.yaml", args.set)
    timings = {}
    start = time.perf_counter()
    tables = data.load_tables(folder / "leads.parquet", folder / "activities.parquet")
    timings["load + validate"] = time.perf_counter() - start
    step = time.perf_counter()
    dataset = features.build_dataset(
        tables,
        params.label,
        params.features,
        seed=params.seed,
        replay_from=partial(splits.replay_start, params=params.models, seed=params.seed),
    )
    timings["features"] = time.perf_counter() - step
    step = time.perf_counter()
    split = splits.split_by_time(dataset.moment, dataset.label, params.models, params.seed)
    # An any-age model learns from the drawn moments; one moment a lead, from the dataset.
    rows = any_age.snapshot_fit_rows(dataset, split, list(dataset.features.columns))
    if rows is None:
        rows = any_age.FitRows(dataset.features, dataset.label, split.assignment, None)
    parts = {
        name: (rows.X[rows.assignment == name], rows.label[rows.assignment == name])
        for name in ("train", "valid")
    }
    _, best = train.fit_lightgbm(
        *parts["train"], *parts["valid"], train.LIGHTGBM_DEFAULTS, params.seed
    )
    timings["LightGBM (early stopping)"] = time.perf_counter() - step
    total = time.perf_counter() - start
    print(f"leads: {len(tables.leads):,}  activities: {len(tables.activities):,}")
    print(
        f"eligible: {len(dataset.label):,}  features: {dataset.features.shape[1]}  "
        f"train rows: {len(parts['train'][1]):,}  best iteration: {best}"
    )
    for name, seconds in timings.items():
        print(f"{name:<28}{seconds:7.1f} s")
    print(f"{'total':<28}{total:7.1f} s (target < 300 s)")
    target = "< 4 GB" if not params.label.snapshot_days else "within 2x the one-moment run"
    print(f"peak memory (RSS): {_peak_gib():.2f} GiB (target {target})")


if __name__ == "__main__":
    main()
