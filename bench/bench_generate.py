"""Generator speed and memory: 1M leads with their activities (target: under 2 minutes, 2 cores).

Prints its figures; not a test. Usage: python bench/bench_generate.py [n_leads] [--write DIR]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from scoring.core.config import GeneratorParams
from scoring.data import synth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n_leads", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--write",
        type=Path,
        default=None,
        help="folder to write Parquet files to (default: a temporary folder)",
    )
    args = parser.parse_args()

    start = time.perf_counter()
    crm = synth.generate(GeneratorParams(n_leads=args.n_leads), seed=args.seed)
    generated = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.write or Path(tmp)
        write_start = time.perf_counter()
        synth.write(
            crm, folder / "leads.parquet", folder / "activities.parquet", folder / "truth.parquet"
        )
        written = time.perf_counter() - write_start
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    total = generated + written
    print(f"leads:              {len(crm.leads):,}")
    print(f"activities:         {len(crm.activities):,}")
    print(f"generate:           {generated:.1f} s")
    print(f"write parquet:      {written:.1f} s")
    print(f"total:              {total:.1f} s (target < 120 s for 1M leads)")
    print(f"peak memory (RSS):  {peak_gib:.2f} GiB")
    print(f"throughput:         {len(crm.leads) / total:,.0f} leads/s")


if __name__ == "__main__":
    main()
