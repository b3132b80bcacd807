"""The daily job, replayed: every open lead re-scored each day, as production runs the model.

Takes the exported model and the data it was trained on, and replays the test window day by
day with the code `leadscore score --as-of` runs (`scoring.runtime.score`). Each day it scores
every test-window lead created before that day that is still open: it has not reached the
outcome stage and is not lost. The CRM is shown as it was that day, with later stage times
blanked. A (lead, day) counts when its outcome window (`label.window_days` after the day) has
closed by the data's snapshot. Realized means the lead reaches the outcome within that window.

Prints six tables:
1. Weekly cohorts scored at fixed ages (1 to 60 days after their week): calibration and
   ranking by age.
2. The pooled daily queue (every open lead on every day): ranking overall and by age band.
3. The top 5% of each day's queue: how old its leads are and how they convert.
4. A per-age recalibration fitted on half of the leads and measured on the other half: the
   ranking a calibration by age alone would give.
5. MQL at the first crossing of the model's threshold: MQLs per month, their conversion and
   days from creation to MQL, against what the model card promises on test.
6. Leads back from nurture (synthetic data: truth.parquet's recycled_at): how many reach the
   top decile of the daily queue within a week of re-engaging, and on the first day back (at
   re-engagement), and how those convert; with --against, the same for another model; and
   at matched counts, beside the generator's own chance from the re-engagement on (the
   ranking no model can beat). And on the first day back, the generator's chance held to the
   model's own top-decile cut that day: how many leads back a model that knew their chance
   exactly would lift, how those convert, and each model's mean probability against the
   conversion (calibration on leads back).
Not a test; no figure is asserted.

Usage: python bench/replay_daily.py [--model reports/latest/artifact] [--params params.yaml]
       [--against reports/<one-moment run>/artifact]
(`make run` first: it makes the default data and exports the model.)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import average_precision_score, roc_auc_score

from scoring.core.config import load_params
from scoring.data.contract import OPTIONAL_TIMESTAMPS, STAGE_TIMESTAMPS
from scoring.model.evaluate import age_band
from scoring.runtime import artifact, score

ROOT = Path(__file__).resolve().parents[1]
AGES = (1, 3, 7, 14, 30, 60)
STALE_DAYS = 30
TOP_DECILE = 0.10
TOP_SHARE = 0.05
DAY = pd.Timedelta(days=1)
COMEBACK_COLUMNS = (
    "place",
    "place_first_day",
    "top",
    "realized",
    "realized_back",
    "probability_first_day",
    "cut_first_day",
)


def crm_as_of(leads: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The leads as the CRM held them at `as_of`: stage times not yet reached are blank."""
    view = leads.copy()
    for column in (*STAGE_TIMESTAMPS.values(), *OPTIONAL_TIMESTAMPS, "first_touch_at", "lost_at"):
        if column != "created_at" and column in view:
            view[column] = view[column].where(view[column] < as_of)
    return view


def replay(
    loaded: artifact.Artifact,
    leads: pd.DataFrame,
    activities: pd.DataFrame,
    outcome: str,
    window: pd.Timedelta,
    start: pd.Timestamp,
    days: int,
    snapshot: pd.Timestamp,
) -> pd.DataFrame:
    """One row per (open lead, day): its age, score, and whether it converted in the window."""
    reached = leads[outcome]
    rows = []
    for k in range(1, days + 1):
        as_of = start + k * DAY
        if as_of + window > snapshot:
            break
        open_ = (leads["created_at"] < as_of) & ~(reached < as_of) & ~(leads["lost_at"] < as_of)
        if not open_.any():
            continue
        day_leads = crm_as_of(leads.loc[open_], as_of)
        out = score(loaded, day_leads, activities, as_of=as_of, reasons=False)
        if out["error"].notna().any():
            raise SystemExit(f"{as_of}: {out['error'].notna().sum()} rows could not be scored")
        day_reached = reached.loc[open_].to_numpy()
        rows.append(
            pd.DataFrame(
                {
                    "lead_id": day_leads["lead_id"].to_numpy(),
                    "created_at": day_leads["created_at"].to_numpy(),
                    "as_of": as_of,
                    "age_days": (as_of - day_leads["created_at"]).dt.total_seconds().to_numpy()
                    / 86_400,
                    "probability": out["probability"].to_numpy(),
                    "is_mql": out["is_mql"].to_numpy(),
                    "realized": (day_reached >= as_of) & (day_reached < as_of + window),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def ranking(frame: pd.DataFrame) -> tuple[float, float]:
    """(ROC-AUC, PR-AUC) of the probabilities against what was realized (NaN if one class)."""
    y = frame["realized"].to_numpy()
    if y.all() or not y.any():
        return np.nan, np.nan
    return roc_auc_score(y, frame["probability"]), average_precision_score(y, frame["probability"])


def summary(frame: pd.DataFrame) -> dict:
    auc, ap = ranking(frame)
    realized = frame["realized"].mean()
    return {
        "open leads": len(frame),
        "conversions": int(frame["realized"].sum()),
        "predicted / realized": frame["probability"].mean() / realized if realized else np.nan,
        "ROC-AUC": auc,
        "PR-AUC": ap,
    }


def cohorts_by_age(rows: pd.DataFrame, start: pd.Timestamp, weeks: int) -> pd.DataFrame:
    """Weekly cohorts from `start`, each scored `age` days after its week ended."""
    week = ((rows["created_at"] - start) // pd.Timedelta(days=7)).astype(int)
    cohort_end = start + (week + 1) * pd.Timedelta(days=7)
    table = {}
    for age in AGES:
        at_age = rows[(week < weeks) & (rows["as_of"] == cohort_end + age * DAY)]
        table[f"{age} days"] = summary(at_age)
    return pd.DataFrame(table).T


def top_of_queue(rows: pd.DataFrame) -> pd.DataFrame:
    """Each day's top 5% by probability, pooled over the days: who is in it, how they convert."""
    rank = rows.groupby("as_of")["probability"].rank(ascending=False, pct=True)
    top = rows[rank <= TOP_SHARE]
    stale = top["age_days"] >= STALE_DAYS
    return pd.DataFrame(
        {
            "leads in the top 5%": [int((~stale).sum()), int(stale.sum())],
            "share of the top 5%": [(~stale).mean(), stale.mean()],
            "conversion": [top.loc[~stale, "realized"].mean(), top.loc[stale, "realized"].mean()],
        },
        index=[f"aged < {STALE_DAYS} days", f"aged >= {STALE_DAYS} days"],
    )


def recalibrated_by_age(rows: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Isotonic calibration per age band, fitted on half of the leads, measured on the rest."""
    leads = rows["lead_id"].unique()
    fit_half = set(np.random.default_rng(seed).permutation(leads)[: len(leads) // 2])
    in_fit = rows["lead_id"].isin(fit_half)
    bands = age_band(rows["age_days"])
    held = rows[~in_fit].copy()
    for band in bands.cat.categories:
        fit = rows[in_fit & (bands == band)]
        target = ~in_fit & (bands == band)
        if fit["realized"].nunique() < 2 or not target.any():
            continue
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1)
        iso.fit(fit["probability"], fit["realized"])
        held.loc[target[~in_fit].to_numpy(), "probability"] = iso.predict(
            rows.loc[target, "probability"]
        )
    raw = summary(rows[~in_fit])
    return pd.DataFrame({"as exported": raw, "recalibrated by age": summary(held)}).T


def first_crossings(rows: pd.DataFrame, card: dict, promised: dict | None) -> pd.DataFrame:
    """MQL the first day a lead's score reaches the threshold, as the daily job flags it,
    beside what the run's thresholds.json promised on test for the same policy (if found)."""
    crossed = rows[rows["is_mql"]].sort_values("as_of").drop_duplicates("lead_id")
    months = (rows["created_at"].max() - rows["created_at"].min()) / pd.Timedelta(days=30.44)
    found = {
        "MQLs per month": len(crossed) / months,
        "MQL-to-outcome conversion": crossed["realized"].mean(),
        "days from creation to MQL (median)": crossed["age_days"].median(),
        "first crossings within 14 days": (crossed["age_days"] <= 14).mean(),
    }
    policy = card["threshold"]["policy"]
    table = {"daily replay": found}
    chosen = {p["policy"]: p for p in (promised or {}).get("policies", [])}.get(policy)
    if chosen:
        table["report promised (95% interval)"] = {
            "MQLs per month": f"{chosen['mqls_per_month']:.1f} "
            f"({chosen['mqls_per_month_low']:.1f}-{chosen['mqls_per_month_high']:.1f})",
            "MQL-to-outcome conversion": f"{chosen['conversion']:.3f} "
            f"({chosen['conversion_low']:.3f}-{chosen['conversion_high']:.3f})",
        }
    return pd.DataFrame(table).rename_axis(
        f"threshold {card['threshold']['mql_probability']:.4f} ({policy})"
    )


def comeback_weeks(
    loaded: artifact.Artifact,
    rows: pd.DataFrame,
    leads: pd.DataFrame,
    activities: pd.DataFrame,
    truth: pd.DataFrame,
    outcome: str,
    window: pd.Timedelta,
) -> pd.DataFrame:
    """Leads that came back from nurture while the replay ran (whenever they were created):
    each scored every day of the week after it re-engaged, as the daily job would, and placed
    in that day's queue. Per lead: its best place in the queue that week (share of the queue
    below it), whether it reached the top decile, and whether it converted within the window
    from its first day in the top decile (`realized`; else from its first day back) and from
    its first day back (`realized_back`: the same for every model)."""
    days = sorted(rows["as_of"].unique())
    queues = {day: np.sort(g.to_numpy()) for day, g in rows.groupby("as_of")["probability"]}
    back = truth.dropna(subset=["recycled_at"]).set_index("lead_id")["recycled_at"]
    back = back[(back >= days[0] - 7 * DAY) & (back < days[-1])]
    reached = leads.set_index("lead_id")[outcome]
    found = []
    for day in days:
        due = back[(back < day) & (back >= day - 7 * DAY)].index
        due = due[~(reached.reindex(due) < day).to_numpy()]  # still open
        if not len(due):
            continue
        day_leads = crm_as_of(leads[leads["lead_id"].isin(due)], day)
        day_acts = activities[activities["lead_id"].isin(due)]
        out = score(loaded, day_leads, day_acts, as_of=day, reasons=False)
        queue = queues[day]
        place = np.searchsorted(queue, out["probability"].to_numpy(), side="right") / len(queue)
        at = reached.reindex(day_leads["lead_id"]).to_numpy()
        found.append(
            pd.DataFrame(
                {
                    "lead_id": day_leads["lead_id"].to_numpy(),
                    "as_of": day,
                    "place": place,
                    "top": place > 1 - TOP_DECILE,
                    "realized": (at >= day) & (at < day + window),
                    "probability": out["probability"].to_numpy(),
                    # The lowest probability the day's top decile takes (place above 0.9).
                    "cut": queue[min(int(len(queue) * (1 - TOP_DECILE)), len(queue) - 1)],
                }
            )
        )
    if not found:
        return pd.DataFrame(columns=[*COMEBACK_COLUMNS])
    week = pd.concat(found).sort_values(["lead_id", "as_of"])
    first_top = week[week["top"]].drop_duplicates("lead_id").set_index("lead_id")
    first_day = week.drop_duplicates("lead_id").set_index("lead_id")
    top = first_day.index.isin(first_top.index)
    realized = first_day["realized"].where(~top, first_top["realized"].reindex(first_day.index))
    return pd.DataFrame(
        {
            "place": week.groupby("lead_id")["place"].max().reindex(first_day.index),
            "place_first_day": first_day["place"],
            "top": top,
            "realized": realized.astype(bool),
            "realized_back": first_day["realized"].astype(bool),
            "probability_first_day": first_day["probability"],
            "cut_first_day": first_day["cut"],
        }
    )


def recycled_scored_up(weeks: pd.DataFrame) -> pd.DataFrame:
    """Do leads back from nurture reach the top decile within a week, and do those convert?
    And on their first day back (at re-engagement), converting from then on?"""
    if weeks.empty:
        return pd.DataFrame({"leads back during the replay": [0]})
    top, converted = weeks["top"].to_numpy(), weeks["realized"].to_numpy()
    first = (weeks["place_first_day"] > 1 - TOP_DECILE).to_numpy()
    from_back = weeks["realized_back"].to_numpy()
    total, total_back = max(converted.sum(), 1), max(from_back.sum(), 1)
    return pd.DataFrame(
        {
            "leads": [int(top.sum()), int((~top).sum()), int(first.sum()), int((~first).sum())],
            "share": [top.mean(), (~top).mean(), first.mean(), (~first).mean()],
            "conversion": [
                converted[top].mean(),
                converted[~top].mean(),
                from_back[first].mean(),
                from_back[~first].mean(),
            ],
            "share of their conversions": [
                converted[top].sum() / total,
                converted[~top].sum() / total,
                from_back[first].sum() / total_back,
                from_back[~first].sum() / total_back,
            ],
        },
        index=[
            "in the top decile within a week of coming back",
            "not",
            "in the top decile the first day back",
            "not the first day back",
        ],
    )


def true_chance_scored_up(weeks: pd.DataFrame, chance: pd.Series) -> pd.DataFrame:
    """On their first day back, the model against the generator's own chance from the
    re-engagement on (`chance`, by lead id), each held to the same bar: that day's top decile
    of the model's queue. Which leads back belong in the top decile if their chance were known
    exactly, and how they convert; and the mean probability beside the conversion."""
    if weeks.empty:
        return pd.DataFrame({"leads back during the replay": [0]})
    known = chance.reindex(weeks.index).to_numpy()
    from_back = weeks["realized_back"].to_numpy()
    total = max(from_back.sum(), 1)
    table = {}
    for name, probability in (
        ("the model", weeks["probability_first_day"].to_numpy()),
        ("the true chance", known),
    ):
        up = probability >= weeks["cut_first_day"].to_numpy()
        table[name] = {
            "in the day's top decile": int(up.sum()),
            "their conversion": from_back[up].mean() if up.any() else np.nan,
            "share of the conversions": from_back[up].sum() / total,
            "mean probability (all leads back)": probability.mean(),
        }
    table["realized"] = {"mean probability (all leads back)": from_back.mean()}
    return pd.DataFrame(table)


def recycled_matched(weeks: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each model's leads back from nurture placed highest in its queue that week, as many as
    each model puts in its top decile: the conversion (from the day back) of the same number
    of leads, so a model that lifts more of them is not judged on a bigger, harder group."""
    counts = {name: int(w["top"].sum()) for name, w in weeks.items()}
    table = {}
    for name, w in weeks.items():
        ranked = w.sort_values("place", ascending=False)["realized_back"]
        table[name] = {
            f"conversion of the top {k} (as many as {other} lifts)": ranked.head(k).mean()
            for other, k in counts.items()
            if k
        }
        if w["realized_back"].nunique() == 2:
            table[name]["ROC-AUC of their best place in the queue"] = roc_auc_score(
                w["realized_back"], w["place"]
            )
            table[name]["ROC-AUC of their place the first day back"] = roc_auc_score(
                w["realized_back"], w["place_first_day"]
            )
    return pd.DataFrame(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(ROOT / "reports" / "latest" / "artifact"))
    parser.add_argument("--params", default=str(ROOT / "params.yaml"))
    parser.add_argument("--weeks", type=int, default=13, help="weekly cohorts in table 1")
    parser.add_argument("--days", type=int, default=200, help="days replayed at most")
    parser.add_argument(
        "--against",
        help="another exported model (say, the one-moment model): table 6 compares the two on "
        "leads back from nurture, at matched counts",
    )
    args = parser.parse_args()
    params = load_params(args.params)
    loaded = artifact.load(args.model)
    raw = Path(params.data.raw_dir)
    if not raw.is_absolute():
        raw = Path(args.params).resolve().parent / raw
    leads = pd.read_parquet(raw / params.data.leads_file)
    activities = pd.read_parquet(raw / params.data.activities_file)
    start = pd.Timestamp(loaded.card["test_window"][0]).normalize()
    snapshot = max(leads.select_dtypes("datetime").max().max(), activities["occurred_at"].max())
    test_leads = leads[leads["created_at"] >= start]
    test_activities = activities[activities["lead_id"].isin(test_leads["lead_id"])]
    outcome = STAGE_TIMESTAMPS[params.label.outcome]
    window = pd.Timedelta(days=params.label.window_days)
    began = time.perf_counter()
    rows = replay(loaded, test_leads, test_activities, outcome, window, start, args.days, snapshot)
    seconds = time.perf_counter() - began
    pd.set_option("display.width", 140)
    pd.set_option("display.float_format", "{:,.3f}".format)
    print(
        f"model {args.model} ({loaded.card['family']}), test window from {start.date()}, "
        f"{rows['as_of'].nunique()} days replayed ({seconds:.0f} s), {len(rows):,} scorings of "
        f"{rows['lead_id'].nunique():,} leads; realized = {params.label.outcome} within "
        f"{params.label.window_days} days of the scoring\n"
    )
    print("1. Weekly cohorts scored at a fixed age after their week")
    print(cohorts_by_age(rows, start, args.weeks).to_string(), "\n")
    print("2. The pooled daily queue, by lead age")
    bands = {"all": summary(rows)}
    bands.update(
        {str(b): summary(g) for b, g in rows.groupby(age_band(rows["age_days"]), observed=True)}
    )
    print(pd.DataFrame(bands).T.to_string(), "\n")
    print("3. The top 5% of each day's queue")
    print(top_of_queue(rows).to_string(), "\n")
    print("4. Ranking of the pooled queue on held-out leads")
    print(recalibrated_by_age(rows).to_string(), "\n")
    print("5. MQL at the first crossing of the model's threshold")
    promised = Path(args.model).parent / "thresholds.json"
    promises = json.loads(promised.read_text()) if promised.is_file() else None
    print(first_crossings(rows, loaded.card, promises).fillna("").to_string(), "\n")
    truth_path = raw / params.data.truth_file
    if truth_path.is_file():
        truth = pd.read_parquet(truth_path)
        if "recycled_at" in truth.columns:
            recycling = (leads, activities, truth, outcome, window)
            print("6. Leads back from nurture during the replay, whenever created")
            weeks = {"this model": comeback_weeks(loaded, rows, *recycling)}
            print(recycled_scored_up(weeks["this model"]).to_string(), "\n")
            if args.against:
                other = artifact.load(args.against)
                other_rows = replay(
                    other, test_leads, test_activities, outcome, window, start, args.days, snapshot
                )
                weeks["against"] = comeback_weeks(other, other_rows, *recycling)
                print(f"   against {args.against} ({other.card['family']})")
                print(recycled_scored_up(weeks["against"]).to_string(), "\n")
            # The generator's own chance from the re-engagement on: the best a model can do.
            chance = truth.set_index("lead_id")["true_probability_after"]
            ours = weeks["this model"]
            weeks["true chance"] = ours.assign(
                place=chance.reindex(ours.index).to_numpy(),
                place_first_day=chance.reindex(ours.index).to_numpy(),
                top=False,
            )
            print("   The first day back, against the true chance held to the same cut")
            print(true_chance_scored_up(ours, chance).to_string(), "\n")
            if args.against:
                print(f"   the same for {args.against}")
                print(true_chance_scored_up(weeks["against"], chance).to_string(), "\n")
            print("   Matched counts: the leads each model places highest")
            print(recycled_matched(weeks).to_string())


if __name__ == "__main__":
    main()
