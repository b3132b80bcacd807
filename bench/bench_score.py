"""Batch-scoring throughput of an exported artifact (targets: 100,000 leads/s without reasons,
20,000 leads/s with reasons, on 2 cores).

Scores the model's own data, repeated to --leads rows (lead ids made unique), from Parquet to
Parquet through `scoring.runtime.score_file`, the code `leadscore score` runs. Also times a flat
export of the same size when the champion was trained on one. Prints its figures; not a test.

Usage: python bench/bench_score.py [--model artifacts/leadscore] [--leads 500000] [--repeat 3]
(`make retrain` first, so that artifacts/leadscore has a champion.)
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from scoring.core.config import load_params
from scoring.runtime import artifact
from scoring.runtime import batch as score

ROOT = Path(__file__).resolve().parents[1]


def repeated(frame: pd.DataFrame, copies: int, id_column: str) -> pd.DataFrame:
    ids = frame[id_column].astype(str)
    return pd.concat(
        [frame.assign(**{id_column: ids + f"-{i}"}) for i in range(copies)], ignore_index=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(ROOT / "artifacts" / "leadscore"))
    parser.add_argument("--leads", type=int, default=500_000)
    parser.add_argument("--params", default=str(ROOT / "params.yaml"))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; best and median")
    args = parser.parse_args()
    params = load_params(args.params)
    try:
        loaded = artifact.load(args.model)
    except artifact.ArtifactError as err:
        raise SystemExit(
            f"{err}\nRun `make retrain` first to export and promote a model."
        ) from None
    kind = loaded.preprocessing["source"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if kind == "flat":
            frame = pd.read_csv(params.data.flat.path, dtype=str, keep_default_na=False)
            copies = -(-args.leads // len(frame))
            id_column = loaded.preprocessing["flat"]["id_column"]
            repeated(frame, copies, id_column).head(args.leads).to_parquet(folder / "in.parquet")
            activities = None
        else:
            leads = pd.read_parquet(params.data.leads_path)
            acts = pd.read_parquet(params.data.activities_path)
            copies = -(-args.leads // len(leads))
            repeated(leads, copies, "lead_id").head(args.leads).to_parquet(folder / "in.parquet")
            activities = folder / "activities.parquet"
            repeated(acts, copies, "lead_id").to_parquet(activities)
        rows = args.leads
        extra = "" if activities is None else f", {len(pd.read_parquet(activities)):,} activities"
        print(
            f"model {args.model} ({loaded.preprocessing['family']}, {kind} input), "
            f"{rows:,} leads{extra}"
        )
        for reasons in (False, True):
            runs = []
            for _ in range(args.repeat):
                # A freshly loaded artifact each run: its compiled trees are built again, as
                # in a new `leadscore score` (numba's compiled code comes from its cache).
                model = artifact.load(args.model)
                output = folder / f"out-{reasons}.parquet"
                output.unlink(missing_ok=True)
                start = time.perf_counter()
                summary = score.score_file(
                    model,
                    folder / "in.parquet",
                    output,
                    activities,
                    reasons=reasons,
                    progress=False,
                )
                runs.append(time.perf_counter() - start)
                assert summary.rows == rows == len(pd.read_parquet(output))
            best, median = min(runs), statistics.median(runs)
            print(
                f"  reasons={'yes' if reasons else 'no ':3}  best {best:5.1f} s "
                f"{rows / best:>9,.0f} leads/s  median {median:5.1f} s {rows / median:>9,.0f} "
                f"leads/s  (runs: {', '.join(f'{r:.2f}' for r in runs)} s; "
                f"errors {summary.errors})"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak RSS {peak:.2f} GiB")


if __name__ == "__main__":
    main()
