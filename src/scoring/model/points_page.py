"""The learned point rules for people: the headline lines the report and notebook show, the
Markdown page ops reads, the files a run keeps (points_rules.csv/.json/.md) and the flat
metrics MLflow records."""

from __future__ import annotations

import html
import math
import re

import pandas as pd

from scoring.io.files import neutralise_formulas, write_json, write_text_whole, write_whole


def _finite(value) -> bool:
    return value is not None and math.isfinite(value)


def _figure(entry: dict, pattern: str) -> str:
    """A figure with its 95% interval when there is one ('n/a' when there is no figure)."""
    if not _finite(entry.get("value")):
        return "n/a"

    def text(value: float) -> str:
        # No "-0.0": a difference that rounds to nothing is shown as +0.0.
        shown = pattern.format(value)
        return pattern.format(0.0) if float(re.sub(r"[^0-9.+-]", "", shown) or 0) == 0 else shown

    shown = text(entry["value"])
    if _finite(entry.get("low")) and _finite(entry.get("high")):
        shown += f" ({text(entry['low'])} to {text(entry['high'])})"
    return shown


def _pct(entry: dict) -> str:
    return _figure(entry, "{:.1%}")


def _pp(entry: dict) -> str:
    """A difference of two rates in percentage points, with its interval."""
    scaled = {k: None if not _finite(v) else v * 100 for k, v in entry.items()}
    shown = _figure({"value": scaled.get("value")}, "{:+.1f}")
    interval = _figure(scaled, "{:+.1f}").removeprefix(shown).strip()
    return f"{shown} percentage points {interval}".strip()


def _auc(entry: dict) -> str:
    return _figure(entry, "{:.3f}")


def summary_lines(saved: dict) -> list[str]:
    """What the rules give and give up on test, in sentences (report and markdown page)."""
    ev = saved["evaluation"]
    ranking, lines = ev["ranking"], []
    # Without rules in params the baseline is a plain logistic regression, not "today's rules".
    today = ev.get("baseline_name", "today's rules")
    lines.append(
        f"{len(saved['rules'])} rules; a lead is an MQL at **{saved['mql_threshold_points']:g} "
        f"points** or more (chosen on validation by the {saved['policy'].replace('_', ' ')} "
        "policy)."
    )
    lines.append(
        f"PR-AUC on test: rules you can paste {_auc(ranking['points']['pr_auc'])}, {today} "
        f"{_auc(ranking['rules']['pr_auc'])}, the model {_auc(ranking['model']['pr_auc'])}."
    )
    gain, model_gain = ev["gain_kept"], ev["model_gain"]
    clear = _finite(model_gain["value"]) and model_gain["value"] > 0
    if _finite(model_gain.get("low")):
        clear = clear and model_gain["low"] > 0
    below = ev["versus"]["rules"]["pr_auc"]
    if _finite(below["value"]) and below["value"] < 0:
        lines.append(
            f"They rank below {today} on test (PR-AUC difference "
            f"{_figure(below, '{:+.3f}')}): {len(saved['rules'])} single-field rules carry "
            "less than it does."
        )
    elif not clear:
        lines.append(
            f"The model is not clearly better than {today} on test (PR-AUC difference "
            f"{_figure(model_gain, '{:+.3f}')}): the share of its gain the rules keep says "
            "nothing here."
        )
    elif _finite(gain["value"]):
        interval = (
            f" (95% interval {gain['low']:.1%} to {gain['high']:.1%})"
            if _finite(gain["low"]) and _finite(gain["high"])
            else ""
        )
        # One decimal: a share just under a bar (79.9%) must not read as meeting it (80%).
        lines.append(
            f"They keep **{gain['value']:.1%}** of the model's PR-AUC gain over {today}{interval}."
        )
    # Without dates, "per month" figures are per test window (thresholds.months_covered).
    period = "a month" if ev.get("per_month", True) else "in the test window"
    for row in ev["policies"]:
        if row.get("threshold_points") is None or "points" not in row:
            continue
        name = row["policy"].replace("_", " ")
        text = (
            f"At the {name} threshold ({row['threshold_points']:g} points): "
            f"{row['points']['mqls_per_month']['value']:,.0f} MQLs {period} converting at "
            f"{_pct(row['points']['conversion'])}"
        )
        if "conversion_vs_rules" in row:
            text += f"; against {today} {_pp(row['conversion_vs_rules'])}"
        if "conversion_vs_model" in row:
            text += (
                f"; against the model at its own {name} threshold "
                f"({row['model']['conversion']['value']:.1%}) {_pp(row['conversion_vs_model'])}"
            )
        lines.append(text + ".")
    return lines


def _md(text: str, cell: bool = False) -> str:
    """Text from the data made inert in Markdown: HTML escaped (a Markdown viewer renders raw
    HTML), and in a table cell its pipes too."""
    escaped = html.escape(str(text), quote=False)
    return escaped.replace("|", "\\|") if cell else escaped


def markdown_page(saved: dict, label_words: str) -> str:
    """points_rules.md: the page marketing ops follow to type the rules in by hand."""
    out = [
        "# Lead-scoring rules to enter in your marketing platform",
        "",
        f"Learned from your leads' history: which leads {label_words}.",
        "",
        *[f"- {_md(line)}" for line in summary_lines(saved)],
        "",
        "## How to enter them",
        "",
        "1. Create two scores, as HubSpot, Marketo and Account Engagement allow: a **fit** "
        "score (who the lead is) and a **behaviour** score (what the lead did and how it came "
        "in).",
        "2. Add each rule below to its score with its points; a lead gets the points of every "
        "rule it matches. Rules on the same number add up: a lead with 20 activities gets "
        "the points of 'at least 9' and of 'at least 16'.",
        "3. Text matches ignore case; a lead whose field is empty gets no points from it, "
        "except from a rule that reads 'is empty'.",
        "4. Counts 'in the last N days' count activities before the lead is scored.",
        f"5. Make a lead an MQL when fit + behaviour reaches "
        f"**{saved['mql_threshold_points']:g}**.",
        "",
    ]
    for kind, title in (("fit", "Fit score"), ("behaviour", "Behaviour score")):
        rows = [r for r in saved["rules"] if r["kind"] == kind]
        out += [f"## {title}", ""]
        if not rows:
            out += ["No rule of this kind.", ""]
            continue
        out += [
            "| Rule | Points | In your CRM | Training leads | Their conversion |",
            "|---|---:|---|---:|---:|",
        ]
        for r in rows:
            conversion = r["conversion_train"]
            shown = f"{conversion:.1%}" if _finite(conversion) else ""
            where = r.get("in_your_crm", r["rule"])
            out.append(
                f"| {_md(r['rule'], cell=True)} | {r['points']:+d} | {_md(where, cell=True)} | "
                f"{r['leads_train']:,} | {shown} |"
            )
        out.append("")
    if saved["notes"]:
        out += ["## Notes", "", *[f"- {_md(n)}" for n in saved["notes"]], ""]
    return "\n".join(out)


def save(saved: dict, table: pd.DataFrame, label_words: str, run) -> dict[str, str]:
    """points_rules.csv, .json and .md in the run folder."""
    # For ops, who open it in a spreadsheet: no cell runs as a formula.
    write_whole(run.points_csv, lambda p: neutralise_formulas(table).to_csv(p, index=False))
    write_json(run.points_json, saved)
    write_text_whole(run.points_md, markdown_page(saved, label_words))
    return {"csv": str(run.points_csv), "json": str(run.points_json), "md": str(run.points_md)}


def flat_metrics(saved: dict) -> dict[str, float]:
    """The rules' test figures as MLflow metrics."""
    ev = saved["evaluation"]
    out = {
        f"points_{metric}": ev["ranking"]["points"][metric]["value"]
        for metric in ("roc_auc", "pr_auc")
    }
    out["points_rules"] = float(len(saved["rules"]))
    out["points_mql_threshold"] = float(saved["mql_threshold_points"])
    if _finite(ev["gain_kept"]["value"]):
        out["points_gain_kept"] = ev["gain_kept"]["value"]
    return out
