"""The development loop: a whole run on the default 50,000 leads, as `make run` does it
(notebooks) and in-process (--no-notebooks), with each stage's seconds.

Target (2 cores): `make run` after set-up at most 90 s. Prints its figures; not a test.
Usage: python bench/bench_run.py [--n-leads N] [--folder DIR]
Runs in its own folder (data, reports, MLflow), so the project's are left alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import yaml

from scoring.cli import setup_logging
from scoring.core.config import load_params
from scoring.jobs.pipeline import ensure_synthetic_data, run_pipeline
from scoring.jobs.stages import STAGES

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-leads", type=int, default=None, help="default: params.yaml")
    parser.add_argument("--folder", type=Path, default=Path("/tmp/leadscore-bench-run"))
    args = parser.parse_args()
    setup_logging()
    shutil.rmtree(args.folder, ignore_errors=True)
    args.folder.mkdir(parents=True)
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    if args.n_leads:
        raw["generator"]["n_leads"] = args.n_leads
    params_path = args.folder / "params.yaml"
    params_path.write_text(yaml.safe_dump(raw))
    os.chdir(args.folder)
    params = load_params(params_path)
    started = time.perf_counter()
    ensure_synthetic_data(params)
    generated = time.perf_counter() - started
    rows = []
    for notebooks in (True, False):
        started = time.perf_counter()
        result = run_pipeline(
            params, params_path, [], "bench", notebooks=notebooks, progress=lambda _: None
        )
        rows.append((notebooks, time.perf_counter() - started, result.seconds))
    n = params.generator.n_leads
    print(f"{n:,} leads, data generated in {generated:.1f} s")
    stages = [s for s in STAGES if s in rows[0][2]]
    print(f"{'run':<14}{'total s':>9}" + "".join(f"{s:>12}" for s in stages))
    for notebooks, total, seconds in rows:
        name = "notebooks" if notebooks else "in-process"
        print(f"{name:<14}{total:>9.1f}" + "".join(f"{seconds[s]:>12.1f}" for s in stages))
    print(f"make run on a fresh clone, after set-up: about {generated + rows[0][1]:.0f} s")


if __name__ == "__main__":
    main()
