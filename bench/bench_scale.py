"""Past one machine: activity features in DuckDB (out of core) and scoring in Spark.

Figures, on the machine it runs on (each measured in a fresh process, peak RSS from the OS):
1. training features for --leads leads (default 1,000,000, about 20 activities each) through
   the DuckDB engine: `data.load_tables` (Parquet activities validated in batches, kept on
   disk) and `features.build_dataset`; time and peak RSS. The target is under 4 GB, and memory
   should not grow with the activities: the same is run on half the activities to show it.
2. the former pandas path on the same data (the whole table in memory; tests keep it as the
   oracle, tests/reference_features.py), for comparison;
3. `leadscore score --engine spark` (Spark local[*]) on --spark-leads leads (default
   5,000,000, about 10 activities each, built by DuckDB from the generated data with new ids)
   with an exported model (--model, default artifacts/leadscore: `make retrain` first).
Prints its figures; not a test. Data is generated once into --folder (default
/tmp/leadscore-scale) and reused.

Usage: python bench/bench_scale.py [--leads 1000000] [--spark-leads 5000000] [--skip-spark]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAKE = {"coerce_timestamps": "us", "allow_truncated_timestamps": True}


def generate(folder: Path, leads: int) -> tuple[Path, Path]:
    """Synthetic leads and activities at this size (generated once)."""
    leads_path, acts_path = folder / f"leads-{leads}.parquet", folder / f"acts-{leads}.parquet"
    if not acts_path.exists():
        from scoring.core.config import GeneratorParams
        from scoring.data import synth

        start = time.perf_counter()
        crm = synth.generate(GeneratorParams(n_leads=leads), seed=7)
        crm.leads.to_parquet(leads_path, index=False, **LAKE)
        crm.activities.to_parquet(acts_path, index=False, **LAKE)
        print(f"generated {leads:,} leads in {time.perf_counter() - start:.0f} s")
    return leads_path, acts_path


def half_activities(acts_path: Path) -> Path:
    """The same leads with every other activity: does memory follow the activities?"""
    out = acts_path.with_name(acts_path.stem + "-half.parquet")
    if not out.exists():
        import duckdb

        duckdb.sql(
            f"COPY (SELECT * FROM read_parquet('{acts_path}') WHERE hash(lead_id, occurred_at) "
            f"% 2 = 0) TO '{out}' (FORMAT parquet)"
        )
    return out


def lake_for_spark(leads_path: Path, acts_path: Path, copies: int, folder: Path) -> tuple:
    """`copies` copies of the leads with new ids, and the first half of their activities."""
    leads_out, acts_out = folder / f"spark-leads-{copies}", folder / f"spark-acts-{copies}"
    if not acts_out.exists():
        import duckdb

        con = duckdb.connect()
        con.execute("SET preserve_insertion_order = false")
        copies_sql = f"range({copies}) AS c(copy)"
        con.execute(
            f"COPY (SELECT * REPLACE (lead_id || '-' || copy AS lead_id) FROM "
            f"read_parquet('{leads_path}'), {copies_sql}) TO '{leads_out}' "
            "(FORMAT parquet, PER_THREAD_OUTPUT)"
        )
        con.execute(
            f"COPY (SELECT * REPLACE (lead_id || '-' || copy AS lead_id) FROM "
            f"read_parquet('{acts_path}'), {copies_sql} WHERE hash(occurred_at) % 2 = 0) "
            f"TO '{acts_out}' (FORMAT parquet, PER_THREAD_OUTPUT)"
        )
    return leads_out, acts_out


CHILD = """
import json, sys, time
from scoring.data import contract as data, features
from scoring.core.config import load_params
mode, params_path, leads_path, acts_path = sys.argv[1:5]
params = load_params(params_path)
start = time.perf_counter()
if mode == "duckdb":
    tables = data.load_tables(leads_path, acts_path)
    loaded = time.perf_counter()
    dataset = features.build_dataset(tables, params.label, params.features)
    rows, activities = len(dataset.features), len(tables.activities)
else:
    sys.path.insert(0, sys.argv[5])
    from tests import reference_features
    leads = data.validate_leads(data.read_table(leads_path))
    acts = data.validate_activities(data.read_table(acts_path), leads["lead_id"])
    loaded = time.perf_counter()
    snapshot = max(leads.select_dtypes("datetime").max().max(), acts["occurred_at"].max())
    _, moment, reason = features.label_and_exclusions(leads, params.label, snapshot)
    ok = reason.isna()
    counts = reference_features.activity_counts(
        acts, leads.loc[ok, "lead_id"], moment[ok], list(params.features.windows_days)
    )
    rows, activities = len(counts), len(acts)
done = time.perf_counter()
# VmHWM, not ru_maxrss: after exec, ru_maxrss keeps the parent's size at fork.
status = open("/proc/self/status").read()
peak_kib = int(status.split("VmHWM:")[1].split()[0])
print(json.dumps({
    "read_s": loaded - start, "features_s": done - loaded, "rows": rows,
    "activities": activities, "peak_gib": peak_kib / 1024**2,
}))
"""


def measure(mode: str, leads_path: Path, acts_path: Path, params: str) -> dict:
    """Features in a fresh process: its time and peak RSS."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, params, str(leads_path), str(acts_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def show(label: str, figures: dict) -> None:
    if "error" in figures:
        print(f"  {label:34} failed: {figures['error']}")
        return
    print(
        f"  {label:34} {figures['activities']:>12,} activities  read+validate "
        f"{figures['read_s']:6.1f} s  features {figures['features_s']:6.1f} s  "
        f"peak RSS {figures['peak_gib']:.2f} GiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--spark-leads", type=int, default=5_000_000)
    parser.add_argument("--folder", default="/tmp/leadscore-scale")
    parser.add_argument("--params", default=str(ROOT / "params.yaml"))
    parser.add_argument("--model", default=str(ROOT / "artifacts" / "leadscore"))
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--skip-features", action="store_true", help="only the Spark scoring")
    args = parser.parse_args()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    leads_path, acts_path = generate(folder, args.leads)
    if not args.skip_features:
        print(f"training features, {args.leads:,} leads (DuckDB engine unless said):")
        show("duckdb, all activities", measure("duckdb", leads_path, acts_path, args.params))
        half = half_activities(acts_path)
        show("duckdb, half the activities", measure("duckdb", leads_path, half, args.params))
        if not args.skip_pandas:
            show("former pandas path, all", measure("pandas", leads_path, acts_path, args.params))
    if args.skip_spark:
        return
    copies = -(-args.spark_leads // args.leads)
    spark_leads, spark_acts = lake_for_spark(leads_path, acts_path, copies, folder)
    import duckdb

    def rows(folder: Path) -> int:
        query = f"SELECT count(*) FROM read_parquet('{folder}/*.parquet')"
        return duckdb.sql(query).fetchall()[0][0]

    n_leads, n_acts = rows(spark_leads), rows(spark_acts)
    output = folder / "spark-scored.parquet"
    subprocess.run(["rm", "-rf", str(output)], check=True)
    start = time.perf_counter()
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("leadscore")),
            "score",
            "--params",
            args.params,
            "-m",
            args.model,
            "-i",
            str(spark_leads),
            "--activities",
            str(spark_acts),
            "-o",
            str(output),
            "--engine",
            "spark",
            "--no-reasons",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    print(f"spark local[*] scoring, {n_leads:,} leads with {n_acts:,} activities:")
    if done.returncode:
        print("  failed:", (done.stdout + done.stderr).strip()[-2000:])
        return
    print(f"  {seconds:.0f} s, {n_leads / seconds:,.0f} leads/s (no reasons); {done.stdout}")


if __name__ == "__main__":
    main()
