"""The marketing-ops report: one self-contained HTML page per run, no code, opens offline.

It reads what the stages wrote into the run folder (metrics.json, thresholds.json, the
explanations and plots). Every figure it quotes comes from those files; it only draws charts
from them (the trade-off curve, the fit-by-intent grid, the importance bars).
"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Template

from scoring.io import runfolder
from scoring.io.files import read_json, write_text_whole
from scoring.io.runfolder import RunFolder
from scoring.model import evaluate, explain, points_page
from scoring.report import plots
from scoring.runtime import drift
from scoring.runtime.reasons import feature_label

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>leadscore report {{ run_id }}</title>
<style>
 body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
        max-width: 1100px; margin: 0 auto; padding: 24px; color: #222; line-height: 1.45; }
 h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; font-size: 1.25em; }
 .headline { background: #eef5fb; border-left: 6px solid #2e86c1; padding: 14px 20px; }
 .headline p { margin: 0.4em 0; } .big { font-size: 1.25em; font-weight: 600; }
 .warn { background: #fdf2e9; border-left: 6px solid #e67e22; padding: 10px 16px; }
 table { border-collapse: collapse; margin: 8px 0; font-size: 0.92em; }
 th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; }
 th:first-child, td:first-child { text-align: left; }
 img { max-width: 100%; } .muted { color: #666; font-size: 0.9em; }
 .grid { display: flex; flex-wrap: wrap; gap: 16px; } .grid > div { flex: 1 1 480px; }
 table.review td { text-align: left; vertical-align: top; }
 dl.glossary dt { font-weight: 600; margin-top: 0.6em; } dl.glossary dd { margin-left: 1.2em; }
</style></head><body>
<h1>Lead scoring: should we adopt the model's MQL threshold?</h1>
<p class="muted">Run {{ run_id }} · test period {{ test_period }} · {{ n_test }} leads never used
for training, model choice, calibration or threshold choice.</p>
<div class="headline" id="headline">
{% for line in headline %}<p{% if loop.first %} class="big"{% endif %}>{{ line }}</p>{% endfor %}
</div>
{% if warnings %}<h2>Caveats</h2><div class="warn">{% for w in warnings %}<p>{{ w }}</p>
{% endfor %}</div>{% endif %}
<h2>The trade-off: MQL volume against conversion</h2>
<p>Each point on the blue line is a possible threshold for the model; {{ tradeoff_baseline }}
Hover for details.</p>
<div id="tradeoff">{{ tradeoff | safe }}</div>
<h2>Threshold policies (chosen on validation, measured on test)</h2>
{{ policies | safe }}
<p class="muted">Score = 100 x square root of the calibrated probability (the same score means
the same chance after every retrain). Grades: A 50+, B 30-49, C 15-29, D below 15.</p>
{% if points_lines %}<h2 id="rules-you-can-paste">Rules you can paste</h2>
<p>No model call needed: point rules in the form HubSpot, Marketo or Account Engagement score
leads with, learned from the same history as the model (rules chosen on the training leads,
points fitted on every lead before the test period), threshold chosen on validation, measured
on the same test leads as the model.</p>
<div class="headline">{% for line in points_lines %}<p>{{ line | safe }}</p>{% endfor %}</div>
{{ points_table | safe }}
<p class="muted">A lead gets the points of every rule it matches; rules on the same number add
up. Text matches ignore case; an empty field gets no points but from a rule that reads "is
empty". Step by step for ops (with where each field lives in your CRM):
{{ points_page }} in the run folder (also points_rules.csv).</p>{% endif %}
<h2>Gains and lift against {{ baseline_words }}</h2>
<img alt="Cumulative gains and lift of the model against the rules" src="{{ gains }}">
<div class="grid"><div><h2>Calibration</h2>
<img alt="Observed conversion against predicted probability" src="{{ calibration }}">
{% if recalibration %}<p class="muted">{{ recalibration }}</p>{% endif %}</div>
<div><h2>Fit x intent</h2>
<img alt="Conversion by fit grade and intent grade" src="{{ matrix }}">
{% if matrix_note %}<p class="muted">{{ matrix_note }}</p>{% endif %}</div></div>
<h2>Why leads score as they do</h2>
<img alt="Feature importance by family" src="{{ importance }}">
<h3>Top reasons overall</h3>{{ top_reasons | safe }}
<h3>Example leads</h3>{{ examples | safe }}
<h2>Where the model does worse than {{ baseline_words }}</h2>
{{ segments | safe }}
<h2>Model quality on test</h2>{{ metrics_table | safe }}
{% if queue_lines %}<h2>The daily queue: every open lead, at every age</h2>
<p>{{ queue_lines[0] }}</p>
<ul>{% for line in queue_lines[1:] %}<li>{{ line }}</li>{% endfor %}</ul>
{{ queue_table | safe }}
<p class="muted">Predicted / realized: the model's mean probability over the share that
converted within the window (1 is calibrated). Ranking within an age band compares leads of
the same age.</p>{% endif %}
<h2>Has the population moved? (drift)</h2>
<p>{{ drift_text | safe }}</p>
{{ drift_table | safe }}
{% if model_lines %}<h2>The exported model</h2>
<ul>{% for line in model_lines %}<li>{{ line | safe }}</li>{% endfor %}</ul>{% endif %}
<h2>Data window, exclusions and leakage</h2>
<ul>{% for line in data_lines %}<li>{{ line }}</li>{% endfor %}</ul>
{{ leakage | safe }}
<h2 id="glossary">What the figures mean</h2>
<dl class="glossary">
<dt>MQL threshold, score, grade</dt><dd>A lead whose score reaches the threshold is an MQL.
Score = 100 x the square root of the calibrated probability to convert; grades A 50+, B 30-49,
C 15-29, D below 15.</dd>
<dt>Conversion</dt><dd>The share of MQLs that reached the outcome within the label window.</dd>
<dt>Capture</dt><dd>The share of all leads that converted which were MQLs.</dd>
<dt>Lift</dt><dd>How many times as often MQLs convert as all leads do (1: no better than
picking at random).</dd>
<dt>pp (percentage points)</dt><dd>The difference of two rates: 50% against 40% is +10 pp
(a relative gain of 25%).</dd>
<dt>95% CI</dt><dd>The range the figure would fall in 95 times out of 100 on other leads like
these (bootstrap resamples of the test leads).</dd>
<dt>ROC-AUC</dt><dd>The chance that a random converting lead scores above a random
non-converting one (0.5: random, 1: perfect ranking).</dd>
<dt>PR-AUC</dt><dd>Average precision: conversion among the top-scored leads, averaged over
every cut-off; its floor is the base rate, not 0.5.</dd>
<dt>Calibration, ECE, Brier</dt><dd>Whether a predicted 20% converts 20% of the time. ECE is
the average gap between predicted and observed conversion; Brier the mean squared error of
the probabilities (lower is better for both).</dd>
<dt>SHAP, log-odds</dt><dd>How much each field moved one lead's score up or down, in the
model's own units (log-odds: +0.7 about doubles the odds to convert).</dd>
<dt>PSI (drift)</dt><dd>Population stability index: how much a field's distribution moved
between two periods (below 0.1 stable, 0.1-0.25 moderate, above 0.25 major).</dd>
<dt>Validation, test</dt><dd>Models and thresholds are chosen on the validation leads; every
figure above is measured on the newer test leads, never used for any choice.</dd>
</dl>
</body></html>
"""


def _image(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _figure_image(figure) -> str:

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


# Recalibrating on the newest leads is worth a retrain when it cuts ECE by this much, and by
# this share of it.
RECALIBRATION_GAIN = 0.02
RECALIBRATION_SHARE = 0.3


def recalibration_note(check: dict | None) -> str | None:
    """The calibration as trained against the same model recalibrated on newer leads."""
    if not check:
        return None
    before, after = check["ece_as_trained"], check["ece_recalibrated"]
    text = (
        f"On {check['measured_on']}, the probabilities average "
        f"{check['mean_probability_as_trained']:.1%} against {check['conversion_newer']:.1%} "
        f"observed (ECE {before:.3f}). Recalibrated on {check['fitted_on']}, ECE would be "
        f"{after:.3f} (Brier {check['brier_as_trained']:.3f} as trained, "
        f"{check['brier_recalibrated']:.3f} recalibrated)."
    )
    if before - after >= RECALIBRATION_GAIN and before - after >= RECALIBRATION_SHARE * before:
        return text + (
            " The newest leads convert differently from those the model was calibrated on: "
            "read its probabilities as a ranking, not as chances, until the next retrain "
            "(leadscore retrain, once newer leads are labelled) fits the calibration on these "
            "leads, which then form its validation window."
        )
    return text + " The calibration holds on the newest leads."


def exported_recalibration(newest: dict, run: RunFolder) -> str:
    """What an artifact recalibrated on the newest labelled leads changes for its users."""
    from scoring.report.model_card import recalibration_lines

    text = recalibration_lines(newest)[0].removeprefix("- ")
    thresholds = read_json(run.artifact / "thresholds.json") if run.artifact.is_dir() else None
    if thresholds and thresholds.get("mql_score") is not None:
        text += (
            f" In your CRM the recommended threshold reads score {thresholds['mql_score']:.0f} "
            f"(probability {thresholds['mql_probability']:.1%})."
        )
    return "The exported model: " + text[0].lower() + text[1:]


def matrix_note(matrix: pd.DataFrame) -> str | None:
    """Why the fit x intent matrix has a single row or column, when it has."""
    for family, words in (("intent", "behaviour (visits, forms, e-mail)"), ("fit", "profile")):
        if matrix[family].nunique() < 2:
            return (
                f"No field of this data was recognised as {words}: every lead has the same "
                f"{family} grade, so the matrix has one {'column' if family == 'intent' else 'row'}"
                " and ranks by the other family alone."
            )
    return None


def period_words(period: list[str] | None) -> str:
    """A window as people read it: dates as dates, and an export without dates (split by row
    order) as the rows it covers, said as such."""
    if not period:
        return "unknown"
    first, last = (str(v) for v in period)
    if first.isdigit() and last.isdigit():
        return f"rows {int(first):,} to {int(last):,} of the export (it has no dates)"
    return f"{first.removesuffix(' 00:00:00')} to {last.removesuffix(' 00:00:00')}"


def _pp(value) -> str:
    """A difference of two rates in percentage points (never "+17.2%", which reads relative)."""
    return "n/a" if value is None or pd.isna(value) else f"{100 * value:+.1f} pp"


def _ci_pp(low, high) -> str:
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return "n/a"
    return f"{_pp(low)} to {_pp(high)}"


def _lift(chosen: dict) -> str:
    lift = chosen.get("lift")
    if lift is None or pd.isna(lift):
        return "lift n/a"
    return f"lift {lift:.2f} (its MQLs convert {lift:.2f} times as often as all leads)"


def _ci(low, high, percent: bool = True) -> str:
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return "n/a"
    return f"{low:+.1%} to {high:+.1%}" if percent else f"{low:+,.0f} to {high:+,.0f}"


def headline(thresholds: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    """The recommendation and its effect against today's rules, in plain numbers."""
    policies = {p["policy"]: p for p in thresholds["policies"]}
    name = thresholds["recommended"]
    chosen, rules = policies.get(name, {}), policies.get("today's rules")
    if chosen.get("threshold") is None:
        return [
            f"No threshold could be recommended by the {name.replace('_', ' ')} policy: "
            f"{chosen.get('note', 'not computable')}."
        ]
    if chosen.get("conversion") is None:
        return [
            f"The {name.replace('_', ' ')} policy's threshold (calibrated probability "
            f"{chosen['threshold']:.1%}, chosen on validation) selects no lead in the test "
            "window: it does not carry over to newer leads. Do not adopt it; read the caveats "
            "and the conversion rate of each window below."
        ]
    fallback = (
        [
            f"Fallback: {thresholds['fallback_reason']}; the {name.replace('_', ' ')} policy is "
            "used instead (set thresholds.recommended to choose another)."
        ]
        if thresholds.get("fallback_reason")
        else []
    ) + (
        [
            "It rests on settings left at their default, not on your own figures: "
            + "; ".join(thresholds["defaulted_settings"])
            + ". Set them in params.yaml if yours differ."
        ]
        if thresholds.get("defaulted_settings")
        else []
    )
    period = "month" if thresholds.get("per_month", True) else "test window (no dates)"
    outcome = thresholds.get("outcome", "SQL")
    conversion = "MQL-to-SQL conversion" if outcome == "SQL" else f"Conversion of MQLs to {outcome}"

    def reaching(count: float) -> str:
        return f"{count:,.0f} SQLs" if outcome == "SQL" else f"{count:,.0f} reaching {outcome}"

    model = metrics["chosen_model"]
    quality = (
        f"Model: {model}; test ROC-AUC "
        f"{metrics['models'][model]['test']['roc_auc']['value']:.3f} against "
        f"{metrics['models']['baseline']['test']['roc_auc']['value']:.3f} for the baseline "
        f"({metrics['baseline'].split(' (')[0]})."
    )
    if rules is None:
        return [
            f"Recommended MQL threshold: score {chosen['score']:.0f} of 100 (calibrated "
            f"probability {chosen['threshold']:.1%}), by the {name.replace('_', ' ')} policy. "
            "There is no rule baseline to compare with.",
            *fallback,
            f"{conversion} {chosen['conversion']:.1%} (95% CI "
            f"{chosen['conversion_low']:.1%} to {chosen['conversion_high']:.1%}); "
            f"{chosen['mqls_per_month']:,.0f} MQLs and {reaching(chosen['sqls_per_month'])} per "
            f"{period}, capturing {chosen['capture']:.0%} of all conversions; "
            f"{_lift(chosen)}.",
            quality,
        ]
    sql_ci = _ci(
        chosen["sqls_per_month_vs_rules_low"], chosen["sqls_per_month_vs_rules_high"], percent=False
    )
    gain_low = chosen["conversion_vs_rules_low"]
    verdict = (
        "better than today's rules"
        if gain_low is not None and gain_low > 0
        else "not shown to be better than today's rules"
    )
    daily = (
        [
            "MQLs are counted as the daily scoring job makes them: every open lead is re-scored "
            "as it ages and becomes an MQL the first time its score reaches the threshold "
            f"({_half_of_them(chosen['median_days_to_mql'])})."
        ]
        if thresholds.get("daily_job") and chosen.get("median_days_to_mql") is not None
        else []
    )
    return [
        f"Recommended MQL threshold: score {chosen['score']:.0f} of 100 "
        f"(calibrated probability {chosen['threshold']:.1%}, grade "
        f"{chosen['grade_at_threshold']} and above), by the "
        f"{name.replace('_', ' ')} policy: {verdict}.",
        *fallback,
        f"{conversion} {chosen['conversion']:.1%} (95% CI "
        f"{chosen['conversion_low']:.1%} to {chosen['conversion_high']:.1%}) against "
        f"{rules['conversion']:.1%} for today's rules: {_pp(chosen['conversion_vs_rules'])} "
        f"(95% CI {_ci_pp(chosen['conversion_vs_rules_low'], chosen['conversion_vs_rules_high'])})"
        ".",
        f"{chosen['mqls_per_month']:,.0f} MQLs per month (rules: {rules['mqls_per_month']:,.0f}),"
        f" {reaching(chosen['sqls_per_month'])} per month (rules: "
        f"{rules['sqls_per_month']:,.0f}; difference 95% CI "
        f"{sql_ci}), capturing {chosen['capture']:.0%} of all conversions (rules: "
        f"{rules['capture']:.0%}).",
        *daily,
        *money_words(chosen, rules),
        f"Sales load: {chosen['mqls_per_business_day']:.1f} MQLs per business day against a "
        f"capacity of {chosen['capacity_per_business_day']:.0f}.",
        f"Model: {metrics['chosen_model']}; test ROC-AUC "
        f"{metrics['models'][metrics['chosen_model']]['test']['roc_auc']['value']:.3f} against "
        f"{metrics['models']['baseline']['test']['roc_auc']['value']:.3f} for the rules.",
    ]


def money_words(chosen: dict[str, Any], rules: dict[str, Any]) -> list[str]:
    """The recommended threshold in money (pipeline a month, velocity against the rules) and
    what it says of the field's 15-25% velocity claim; nothing without deal amounts."""
    from scoring.model.threshold_money import claim_words

    if chosen.get("pipeline_per_month") is None:
        return []
    line = (
        f"Pipeline created by these MQLs: ${chosen['pipeline_per_month']:,.0f} a month (95% CI "
        f"${chosen['pipeline_per_month_low']:,.0f} to ${chosen['pipeline_per_month_high']:,.0f}"
        f"; rules: ${rules.get('pipeline_per_month') or 0:,.0f})"
    )
    if chosen.get("pipeline_velocity") is not None and rules.get("pipeline_velocity") is not None:
        line += (
            f"; pipeline velocity ${chosen['pipeline_velocity']:,.0f} a month (rules: "
            f"${rules['pipeline_velocity']:,.0f})"
        )
    else:
        line += "; too few deals won on test to measure pipeline velocity"
    claim = claim_words(chosen)
    return [line + ".", *([claim] if claim else [])]


def _policies_table(thresholds: dict[str, Any]) -> str:
    per = "month" if thresholds.get("per_month", True) else "window"
    outcome = thresholds.get("outcome", "SQL")
    reaching = f"SQLs/{per}" if outcome == "SQL" else f"reaching {outcome}/{per}"
    with_rules = thresholds.get("rules_threshold_points") is not None
    rows = []
    for p in thresholds["policies"]:
        row = {
            "policy": p["policy"].replace("_", " "),
            "score >=": "–" if p.get("score") is None else f"{p['score']:.0f}",
            f"MQLs/{per}": _fmt(p.get("mqls_per_month"), "{:,.0f}"),
            "conversion": _fmt(p.get("conversion"), "{:.1%}"),
            "conversion 95% CI": (
                "–"
                if p.get("conversion_low") is None
                else f"{p['conversion_low']:.1%} to {p['conversion_high']:.1%}"
            ),
            "lift": _fmt(p.get("lift"), "{:.2f}"),
            "captures": _fmt(p.get("capture"), "{:.0%}"),
            reaching: _fmt(p.get("sqls_per_month"), "{:,.0f}"),
            "note": p.get("note") or "",
        }
        if with_rules:  # a difference from rules that exist, in percentage points
            row["conversion vs today's rules"] = _pp(p.get("conversion_vs_rules"))
        if "pipeline_per_month" in p:
            row[f"pipeline/{per}"] = _fmt(p.get("pipeline_per_month"), "${:,.0f}")
            if with_rules:
                row["velocity vs today's rules"] = _fmt(
                    p.get("pipeline_velocity_vs_rules"), "{:+.0%}"
                )
        rows.append(row)
    return _words(pd.DataFrame(rows)).to_html(index=False, border=0)


def _fmt(value, pattern: str) -> str:
    return "–" if value is None or pd.isna(value) else pattern.format(value)


def _joined(reasons: pd.Series) -> str:
    """A lead's reasons in one cell, the missing ones left out."""
    return "; ".join(r for r in reasons if isinstance(r, str) and r)


def _reason_families(reasons: pd.DataFrame, limit: int = 8) -> pd.DataFrame:
    """Each reason family (feature) once, on the side where its contributions mostly act, with
    how many leads have it among their top reasons there and its most common wording."""
    parts = [
        pd.DataFrame(
            {
                "feature": reasons[f"{side}_{rank}_feature"],
                "text": reasons[f"{side}_{rank}"],
                "weight": pd.to_numeric(reasons[f"{side}_{rank}_contribution"]).abs(),
                "side": side,
            }
        )
        for side in ("up", "down")
        for rank in (1, 2, 3)
    ]
    every = pd.concat(parts).dropna(subset=["feature", "text"])
    weight = every.pivot_table(
        index="feature", columns="side", values="weight", aggfunc="sum", fill_value=0.0
    ).reindex(columns=["up", "down"], fill_value=0.0)
    columns = {}
    for side, name in (("up", "raises the score"), ("down", "lowers the score")):
        other = "down" if side == "up" else "up"
        mine = weight[weight[side] > weight[other]][side].sort_values(ascending=False)
        cells = []
        for feature in mine.index[:limit]:
            texts = every[(every["feature"] == feature) & (every["side"] == side)]["text"]
            cells.append(
                f"{feature_label(feature)} (e.g. “{texts.mode().iloc[0]}”; {len(texts):,} leads)"
            )
        columns[name] = pd.Series(cells, dtype=object)
    return pd.DataFrame(columns).fillna("")


def _reason_tables(reasons: pd.DataFrame, count: int) -> tuple[str, str]:
    top = _reason_families(reasons)
    ordered = reasons.sort_values("fit", ascending=False)
    picks = pd.concat([ordered.head(count // 2), ordered.tail(count - count // 2)])
    examples = pd.DataFrame(
        {
            "lead": picks["lead_id"],
            "converted": picks["label"].map({1: "yes", 0: "no"}),
            "top reasons up": picks[["up_1", "up_2", "up_3"]].apply(_joined, axis=1),
            "top reasons down": picks[["down_1", "down_2", "down_3"]].apply(_joined, axis=1),
        }
    )
    return _words(top).to_html(index=False, border=0), _words(examples).to_html(
        index=False, border=0
    )


def _points_section(run: RunFolder) -> dict[str, Any]:
    """The learned point rules, when the run has them: summary lines and the rules table."""
    if not run.points_json.is_file():
        return {"points_lines": [], "points_table": "", "points_page": ""}

    saved = run.read(runfolder.POINTS_JSON)
    table = pd.DataFrame(
        {
            "rule": [r["rule"] for r in saved["rules"]],
            "score": [r["kind"].capitalize() for r in saved["rules"]],
            "points": [f"{r['points']:+d}" for r in saved["rules"]],
            "training leads": [f"{r['leads_train']:,}" for r in saved["rules"]],
            "their conversion": [_fmt(r["conversion_train"], "{:.1%}") for r in saved["rules"]],
        }
    )
    threshold = pd.DataFrame(
        [
            {
                "rule": "MQL when fit + behaviour reaches",
                "score": "",
                "points": f"{saved['mql_threshold_points']:g}",
                "training leads": "",
                "their conversion": "",
            }
        ]
    )
    return {
        "points_lines": [_bold(line) for line in points_page.summary_lines(saved)],
        "points_table": _words(pd.concat([table, threshold])).to_html(index=False, border=0),
        "points_page": runfolder.POINTS_MD,
    }


# A segment's ROC-AUC on fewer leads or conversions than this is noise, not a finding.
MIN_SEGMENT_LEADS = 200
MIN_SEGMENT_CONVERSIONS = 20


def _baseline_words(thresholds: dict[str, Any], metrics: dict[str, Any]) -> str:
    """What the model is compared with: the team's rules, or the baseline model without."""
    if thresholds.get("rules_threshold_points") is not None:
        return "today's rules"
    return f"the baseline ({metrics['baseline'].split(' (')[0]})"


def _segments(metrics: dict[str, Any], baseline: str = "today's rules") -> str:
    model = metrics["chosen_model"]
    every = metrics.get("segments", [])
    big = [
        s
        for s in every
        if s.get("leads", 0) >= MIN_SEGMENT_LEADS
        and s.get("conversions", 0) >= MIN_SEGMENT_CONVERSIONS
    ]
    hidden = len(every) - len(big)
    note = (
        f" {hidden:,} segment values with fewer than {MIN_SEGMENT_LEADS} test leads or "
        f"{MIN_SEGMENT_CONVERSIONS} conversions are not shown: too few to tell."
        if hidden
        else ""
    )
    rows = [
        s
        for s in big
        if s.get(f"{model}_roc_auc") is not None
        and s.get("baseline_roc_auc") is not None
        and s[f"{model}_roc_auc"] < s["baseline_roc_auc"]
    ]
    if not rows:
        return (
            "<p>No segment (source, region, company size) where the model ranks leads worse "
            f"than {html.escape(baseline)} on test.{note}</p>"
        )
    table = pd.DataFrame(rows)[
        ["segment", "value", "leads", "conversions", f"{model}_roc_auc", "baseline_roc_auc"]
    ].rename(columns={f"{model}_roc_auc": "model ROC-AUC", "baseline_roc_auc": "baseline ROC-AUC"})
    return (
        f"<p><b>Watch these segments:</b> the model ranks leads worse than "
        f"{html.escape(baseline)} here.{note}</p>"
        + _words(table.round(3)).to_html(index=False, border=0)
    )


def _metrics_table(metrics: dict[str, Any]) -> str:
    rows = []
    for name, entry in metrics["models"].items():
        test = entry["test"]
        rows.append(
            {
                "scorer": name,
                **{
                    metric: (
                        "–"
                        if test[metric]["value"] is None
                        else f"{test[metric]['value']:.3f} [{test[metric]['ci'][0]:.3f}, "
                        f"{test[metric]['ci'][1]:.3f}]"
                    )
                    for metric in ("roc_auc", "pr_auc", "lift_at_10", "brier", "ece")
                },
            }
        )
    return _words(pd.DataFrame(rows)).to_html(index=False, border=0)


def _words(table: pd.DataFrame) -> pd.DataFrame:
    """A table's headers as people write them (plots.header_words)."""
    return table.rename(columns=plots.header_words)


def _bold(text: str) -> str:

    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text))


def _drift_table(document: dict[str, Any]) -> str:
    """The ten largest shifts (PSI) with their band."""
    table = pd.DataFrame(document.get("table", []))
    if table.empty:
        return ""
    table = table.head(10).rename(columns={"psi": "PSI"})
    return _words(table).to_html(index=False, border=0, float_format=lambda v: f"{v:.3f}")


def _model_lines(run: RunFolder) -> list[str]:
    """Registered version and, after a retrain, the decision gate by gate."""

    lines = []
    if run.export.is_file():
        info = run.read(runfolder.EXPORT)
        registered = (
            f"Registered as {html.escape(info['model_name'])} version {info['version']}"
            if info.get("version") is not None
            else "Not registered: a model version is registered only when every stage of the "
            "run has finished"
        )
        lines.append(
            f"{registered}; the exported model reproduces the trained one to "
            f"{info['max_difference_vs_run']:.1g} on {info['rows_checked']:,} leads. Model "
            "card: artifact/model_card.md."
        )
        newest = info.get("recalibrated_on_newest")
        if newest == "not possible":
            lines.append(
                "Not recalibrated on the newest leads (export.recalibrate_on_newest): the test "
                "window is too small or has one outcome; the model is exported as trained."
            )
        elif newest:
            lines.append(html.escape(exported_recalibration(newest, run)))
    if run.retrain.is_file():
        info = run.read(runfolder.RETRAIN)
        lines.append(f"<strong>Retrain decision: {html.escape(info['decision'])}</strong>.")
        lines += [
            f"{'passed' if g['passed'] else '<strong>failed</strong>'}: "
            f"{html.escape(g['name'])}; {html.escape(g['detail'])}"
            for g in info["gates"]
        ]
        lines += [html.escape(r) for r in info["reasons"]]
    return lines


def leakage_review(flagged: list[dict[str, Any]]) -> pd.DataFrame:
    """Excluded, kept-for-review and allowed columns, why, and the params change that flips
    each (excluded first)."""
    table = pd.DataFrame(flagged)
    if table.empty:
        return table
    if "action" not in table.columns:  # runs from before the review table
        table["action"] = table["allowed"].map({True: "kept (allowed)", False: "excluded"})
        table["params_change"] = ""
    order = {"excluded": 0, "kept, review": 1, "kept (allowed)": 2}
    table = table.sort_values("action", key=lambda a: a.map(order), kind="stable")
    table = table.assign(why=table["reason"] + ": " + table["detail"])
    return table[["column", "action", "why", "evidence", "params_change"]].rename(
        columns={"params_change": "to flip it (params)"}
    )


def build(folder: Path | str) -> Path:
    """Write report.html into a run folder from what the stages saved there."""
    run = RunFolder(folder)
    missing = run.missing(runfolder.METRICS, runfolder.THRESHOLDS, runfolder.EXPLAIN)
    if missing:
        raise FileNotFoundError(
            f"{run.path} has no {', '.join(missing)}: run the pipeline "
            "(leadscore run) before building the report"
        )
    metrics = run.read(runfolder.METRICS)
    thresholds = run.read(runfolder.THRESHOLDS)
    explanation, reasons, info = explain.load_run(run)
    matrix = explain.fit_intent_matrix(
        reasons[["fit", "intent"]],
        reasons["label"],
        info["grade_edges"]["fit"],
        info["grade_edges"]["intent"],
    )
    top, examples = _reason_tables(reasons, 8)
    data = metrics["data"]
    leakage = leakage_review(metrics["leakage"]["flagged"])
    drift_document = metrics.get("drift", {})
    # Escape by default: only the values marked `| safe` (tables from pandas' escaping
    # to_html, charts, text passed through html.escape) go in as HTML.
    baseline = _baseline_words(thresholds, metrics)
    page = Template(TEMPLATE, autoescape=True).render(
        drift_text=_bold(drift.markdown(drift_document)),
        drift_table=_drift_table(drift_document),
        model_lines=_model_lines(run),
        run_id=metrics["run_id"],
        test_period=period_words(data["test_period"]),
        n_test=f"{data['n_test']:,}",
        headline=headline(thresholds, metrics),
        warnings=report_warnings(metrics),
        **_tradeoff_section(run, thresholds, metrics),
        policies=_policies_table(thresholds),
        gains=_image(run.plot("gains_lift")),
        calibration=_image(run.plot("calibration")),
        matrix=_figure_image(plots.fit_intent_heatmap(matrix)),
        matrix_note=matrix_note(matrix),
        recalibration=recalibration_note(metrics.get("recalibration")),
        importance=_figure_image(plots.importance(explain.global_importance(explanation))),
        top_reasons=top,
        examples=examples,
        **_points_section(run),
        segments=_segments(metrics, baseline),
        baseline_words=baseline,
        metrics_table=_metrics_table(metrics),
        **_queue_section(metrics),
        data_lines=data_lines(metrics),
        leakage=(
            "<p>No column was flagged.</p>"
            if leakage.empty
            else "<h3>Leakage review</h3><p>Excluded columns are not used; columns kept for "
            "review are used: check each is known at the scoring moment. The last column is "
            "the one-line change to params that flips the decision.</p>"
            + _words(leakage).to_html(
                index=False, border=0, classes="review", float_format="{:.3f}".format
            )
        ),
    )
    write_text_whole(run.report, page)
    return run.report


def _half_of_them(median_days: float) -> str:
    """When the median MQL is made, in words."""
    if median_days < 1:
        return "half of them on the day they come in"
    return f"half of them within {median_days:.0f} days of coming in"


def _queue_section(metrics: dict) -> dict[str, Any]:
    """An any-age model's daily queue on test, in words and by age band (none otherwise)."""
    queue = metrics.get("daily_queue")
    if not queue:
        return {"queue_lines": [], "queue_table": ""}
    lines = [line.removeprefix("- ") for line in evaluate.daily_queue_markdown(queue).splitlines()]
    table = evaluate.daily_queue_table(queue).reset_index()
    for column in ("scorings", "leads", "conversions"):
        table[column] = table[column].map("{:,}".format)
    return {
        "queue_lines": lines,
        "queue_table": _words(table).to_html(
            index=False, border=0, na_rep="–", float_format=lambda v: f"{v:.3f}"
        ),
    }


def _tradeoff_section(run: RunFolder, thresholds: dict, metrics: dict) -> dict[str, str]:
    """The interactive trade-off chart and the sentence saying what its dotted line is."""
    tradeoff_tables = pd.read_parquet(run.tradeoff)
    policies = pd.DataFrame(thresholds["policies"])
    has_rules = thresholds["rules_threshold_points"] is not None and not pd.isna(
        thresholds["rules_threshold_points"]
    )
    per = "month" if thresholds.get("per_month", True) else "window"
    figure = plots.tradeoff(
        tradeoff_tables[tradeoff_tables["scorer"] == "model"],
        tradeoff_tables[tradeoff_tables["scorer"] == "rules"],
        policies,
        "today's rules" if has_rules else "baseline",
        per,
        thresholds.get("outcome", "SQL"),
    )
    tradeoff_baseline = (
        "the dotted line is today's rules at other point thresholds; the red cross is today's "
        f"rules at {thresholds['rules_threshold_points']:g} points."
        if has_rules
        else f"the dotted line is {_baseline_words(thresholds, metrics)} at other thresholds."
    )
    return {
        "tradeoff_baseline": tradeoff_baseline,
        "tradeoff": figure.to_html(full_html=False, include_plotlyjs=True),
    }


def report_warnings(metrics: dict) -> list[str]:
    """What a reader must know before trusting the figures: split, drift between windows,
    synthetic data, few test conversions."""
    data = metrics["data"]
    warnings = list(dict.fromkeys([metrics["split"].get("warning"), *metrics.get("warnings", [])]))
    warnings = [w for w in warnings if w]
    windows = metrics.get("conversion_by_window", {})
    rates = [windows[k]["rate"] for k in ("train", "valid", "test") if k in windows]
    if len(rates) == 3 and min(rates) > 0 and max(rates) / min(rates) >= 1.5:
        warnings.append(
            "The conversion rate moved between windows (train "
            f"{rates[0]:.1%}, validation {rates[1]:.1%}, test {rates[2]:.1%}): thresholds "
            "chosen on validation meet a different base rate on test; read the test figures, "
            "not the validation ones, before adopting a threshold."
        )
    if "oracle" in metrics["models"]:
        warnings.append("These figures come from the synthetic CRM, not your data.")
    if data["positives"]["test"] < 100:
        warnings.append(
            f"Only {data['positives']['test']} conversions in the test period: intervals are wide."
        )
    return warnings


def data_lines(metrics: dict) -> list[str]:
    """The data section: windows, label, what was left out, baseline, leakage exclusions."""
    data, label = metrics["data"], metrics["label"]
    windows = metrics.get("conversion_by_window", {})
    excluded = metrics["leakage"]["excluded"]
    lines = [
        f"Train {data['n_train']:,} leads, validation {data['n_valid']:,}, test "
        f"{data['n_test']:,} ({metrics['split']['method']}); periods "
        + "; ".join(f"{k} {v[0]} to {v[1]}" for k, v in metrics["split"]["periods"].items()),
        f"Label: {label.get('meaning', '')}.",
    ]
    if label.get("target_values"):
        lines.append(
            "Target values: "
            + "; ".join(
                f"{v['value']!r} {v['rows']:,} rows ({v['counted_as']})"
                for v in label["target_values"]
            )
            + "."
        )
    lines += [f"Left out: {e['leads']:,} leads ({e['reason']})." for e in label.get("excluded", [])]
    if windows:
        lines.append(
            "Conversion by window: "
            + "; ".join(
                f"{ {'valid': 'validation'}.get(k, k) } {v['conversions']:,} of "
                f"{v['leads']:,} ({v['rate']:.1%})"
                for k, v in windows.items()
                if v.get("rate") is not None
            )
        )
    fitted_on = metrics.get("fitted_on")
    if fitted_on:
        lines.append(
            f"The evaluated and exported model was trained on {fitted_on['rows']} "
            f"({fitted_on['n_rows']:,} leads): {fitted_on['how']}"
        )
    lines.append(f"Baseline: {metrics['baseline']}.")
    lines.append(f"Leakage guard excluded: {', '.join(excluded) if excluded else 'nothing'}.")
    return lines
