"""Charts for the reports: most functions take a result table and return a matplotlib Figure;
`tradeoff` returns an interactive plotly figure (for report.html) and `styled` a pandas Styler
for tables in the notebooks.

Matplotlib figures are built with the object API (no pyplot state), so nothing is shown or kept
globally.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from scoring.audit.funnel import FunnelAudit
from scoring.runtime.reasons import feature_label

TARGET_COLOR = "#c0392b"
BAR_COLOR = "#2e86c1"


def _figure(width: float = 8.0, height: float = 3.6) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _labels(ax: Axes, x: str, y: str, title: str) -> None:
    """Axis labels, a quiet legend and the title: the finish every test-set chart shares."""
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(title)


STAGE_WORDS = {
    "lead": "Lead",
    "mql": "MQL",
    "sal": "SAL",
    "sql": "SQL",
    "opportunity": "Opportunity",
    "won": "Won",
}


def stage_table(audit: FunnelAudit) -> pd.DataFrame:
    """The stage conversion table with its stages as people write them (MQL, SAL, ...)."""
    table = audit.stage_conversion.copy()
    table["stage"] = table["stage"].map(STAGE_WORDS).fillna(table["stage"])
    return table


def stage_funnel(audit: FunnelAudit) -> Figure:
    """Leads reaching each stage, labelled with conversion from the previous stage."""
    table = stage_table(audit)
    fig, ax = _figure()
    bars = ax.barh(table["stage"][::-1], table["leads"][::-1], color=BAR_COLOR)
    labels = [
        f"{n:,}  ({c:.0%} of previous)" if i else f"{n:,}"
        for i, (n, c) in enumerate(
            zip(table["leads"], table["conversion_from_previous"], strict=True)
        )
    ][::-1]
    ax.bar_label(bars, labels=labels, padding=4, fontsize=9)
    ax.set_xlim(0, table["leads"].max() * 1.45)
    ax.set_xlabel("leads")
    ax.set_title("Funnel: leads reaching each stage")
    return fig


def mql_volume(audit: FunnelAudit) -> Figure:
    """MQLs per month, stacked by source."""
    table = audit.mql_volume
    fig, ax = _figure(9, 4)
    if table.empty:
        ax.text(0.5, 0.5, "no MQLs", ha="center", transform=ax.transAxes)
        return fig
    order = table.sum().sort_values(ascending=False).index
    # The legend names sources as the table below does (its headers in words).
    table[order].rename(columns=header_words).plot.area(
        ax=ax, linewidth=0, alpha=0.85, cmap="tab20"
    )
    ax.set_ylabel("MQLs per month")
    ax.set_xlabel("")
    ax.legend(loc="upper left", fontsize=8, ncols=3, frameon=False)
    ax.set_title("MQL volume by source and month")
    return fig


def segment_conversion(audit) -> list:
    """A flat export's conversion by each segment column, charted against the overall
    conversion; or the one line saying why there is none."""
    from IPython.display import Markdown

    if not audit.conversion_by_segment:
        return [
            Markdown(
                "No segment chart: the export has no column named like source, channel, "
                "campaign, region, country, industry or size."
            )
        ]
    overall = audit.overview["conversion"].iloc[0]
    return [
        conversion_bars(table, column, overall, f"Conversion by {column}", "leads", "overall")
        for column, table in audit.conversion_by_segment.items()
    ]


def export_money(audit) -> list:
    """A flat export's deal size and revenue by source (data.flat.amount_column), or the one
    line saying why not."""
    from IPython.display import Markdown

    if not audit.money:
        return [Markdown(f"Skipped: {audit.skipped['deal_size']}.")]
    return [styled(table) for table in audit.money.values()]


def money_table(audit: FunnelAudit, section: str, part: str | None = None):
    """One money section's table (or one part of it) styled, or the one line saying why the
    audit skipped it (the data has no such field)."""
    from IPython.display import Markdown

    if section not in audit.money.tables:
        reason = audit.money.skipped.get(section, "no data")
        return Markdown(html.escape(f"Skipped: {reason}.", quote=False))
    table = audit.money.tables[section]
    return styled(table[part] if part is not None else table)


def pipeline_by_month(audit: FunnelAudit):
    """Pipeline created (opportunity amounts) per month, stacked by source; or why not."""
    if "pipeline_created" not in audit.money.tables:
        return money_table(audit, "pipeline_created")
    table = audit.money.tables["pipeline_created"].pivot_table(
        index="month", columns="lead_source", values="pipeline", aggfunc="sum", fill_value=0
    )
    fig, ax = _figure(9, 4)
    order = table.sum().sort_values(ascending=False).index
    (table[order] / 1000).rename(columns=header_words).plot.bar(
        ax=ax, stacked=True, width=0.85, cmap="tab20"
    )
    ax.set_ylabel("pipeline created ($ thousand)")
    ax.set_xlabel("")
    ax.legend(loc="upper left", fontsize=8, ncols=3, frameon=False)
    ax.set_title("Pipeline created by month and source (opportunity amounts)")
    return fig


def cost_bars(audit: FunnelAudit):
    """Cost per opportunity by source (spend / opportunities); or why not."""
    if "cost_per_stage" not in audit.money.tables:
        return money_table(audit, "cost_per_stage")
    table = audit.money.tables["cost_per_stage"]
    table = table[table["lead_source"] != "all sources"].dropna(subset=["cost_per_opportunity"])
    table = table.sort_values("cost_per_opportunity")
    fig, ax = _figure(8, max(2.5, 0.3 * len(table) + 1))
    bars = ax.barh(table["lead_source"].astype(str), table["cost_per_opportunity"], color=BAR_COLOR)
    ax.bar_label(
        bars, labels=[f"${v:,.0f}" for v in table["cost_per_opportunity"]], padding=3, fontsize=8
    )
    ax.set_xlim(0, table["cost_per_opportunity"].max() * 1.25 if len(table) else 1)
    ax.set_xlabel("spend per qualified opportunity ($)")
    ax.set_title("Cost per qualified opportunity by source")
    return fig


def conversion_bars(
    table: pd.DataFrame,
    column: str,
    target: float,
    title: str,
    count: str = "mqls",
    target_label: str = "target",
) -> Figure:
    """Conversion per group with a target line; small groups hatched; `count` labels bars."""
    table = table.sort_values("conversion")
    fig, ax = _figure(8, max(2.5, 0.32 * len(table) + 1))
    colors = np.where(table["conversion"] >= target, BAR_COLOR, "#95a5a6")
    bars = ax.barh(table[column].astype(str), table["conversion"], color=colors)
    for bar, small in zip(bars, table["small_sample"], strict=True):
        if small:
            bar.set_hatch("//")
    ax.bar_label(
        bars,
        labels=[
            f"{c:.0%} of {n:,}" for c, n in zip(table["conversion"], table[count], strict=True)
        ],
        padding=3,
        fontsize=8,
    )
    ax.axvline(target, color=TARGET_COLOR, linestyle="--", label=f"{target_label} {target:.0%}")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlim(0, max(target, float(np.nanmax(table["conversion"]) if len(table) else 0)) * 1.35)
    ax.legend(loc="lower right", frameon=False)
    ax.set_title(title)
    return fig


def response_by_rep(audit: FunnelAudit, sla_hours: float) -> Figure:
    """Median response time per rep, with the SLA line."""
    table = audit.response_time_by_rep.sort_values("median_business_hours", ascending=False)
    fig, ax = _figure(8, max(2.5, 0.3 * len(table) + 1))
    bars = ax.barh(table["owner_id"], table["median_business_hours"], color=BAR_COLOR)
    ax.bar_label(
        bars,
        labels=[f"{s:.0%} within SLA" for s in table["share_within_sla"]],
        padding=3,
        fontsize=8,
    )
    ax.axvline(sla_hours, color=TARGET_COLOR, linestyle="--", label=f"SLA {sla_hours:g}h")
    ax.set_xlabel("median business hours from MQL to first touch")
    ax.set_xlim(0, max(sla_hours, table["median_business_hours"].max()) * 1.5)
    ax.legend(loc="lower right", frameon=False)
    ax.set_title("Lead response time by rep")
    return fig


def conversion_by_response(audit: FunnelAudit) -> Figure:
    """MQL-to-SQL conversion by response-time bucket."""
    table = audit.conversion_by_response
    fig, ax = _figure()
    bars = ax.bar(table["bucket"], table["conversion"], color=BAR_COLOR)
    ax.bar_label(
        bars,
        labels=[
            f"{c:.0%}\n(n={n:,})" for c, n in zip(table["conversion"], table["mqls"], strict=True)
        ],
        fontsize=8,
    )
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, max(0.05, table["conversion"].max()) * 1.3)
    ax.set_xlabel("business hours from MQL to first touch")
    ax.set_title("Faster touches convert more: MQL-to-SQL by response time")
    ax.tick_params(axis="x", labelsize=8)
    return fig


def sales_cycle(table: pd.DataFrame, column: str) -> Figure:
    """Median days from opportunity to close per group."""
    table = table.sort_values("median_days")
    fig, ax = _figure(8, max(2.5, 0.3 * len(table) + 1))
    bars = ax.barh(table[column].astype(str), table["median_days"], color=BAR_COLOR)
    ax.bar_label(
        bars,
        labels=[
            f"{d:.0f} d (n={n:,})"
            for d, n in zip(table["median_days"], table["closed"], strict=True)
        ],
        padding=3,
        fontsize=8,
    )
    ax.set_xlabel("median days from opportunity to close")
    ax.set_xlim(0, max(1.0, table["median_days"].max()) * 1.35)
    ax.set_title(f"Sales cycle by {column.replace('_', ' ')}")
    return fig


def win_rate(audit: FunnelAudit) -> Figure:
    """Win rate (won / closed opportunities) per source."""
    table = audit.win_rate_by_source.sort_values("win_rate")
    fig, ax = _figure(8, max(2.5, 0.3 * len(table) + 1))
    bars = ax.barh(table["lead_source"], table["win_rate"], color=BAR_COLOR)
    ax.bar_label(
        bars,
        labels=[
            f"{w:.0%} of {c:,} closed"
            for w, c in zip(table["win_rate"], table["won"] + table["lost"], strict=True)
        ],
        padding=3,
        fontsize=8,
    )
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlim(0, max(0.05, table["win_rate"].max()) * 1.4)
    ax.set_title("Win rate by source")
    return fig


def share_bars(table: pd.DataFrame, label: str, value: str, title: str) -> Figure:
    """Horizontal bars of a share column (disqualification reasons, field completeness)."""
    table = table.sort_values(value)
    fig, ax = _figure(8, max(2.5, 0.3 * len(table) + 1))
    bars = ax.barh(table[label].astype(str), table[value], color=BAR_COLOR)
    ax.bar_label(bars, labels=[f"{v:.0%}" for v in table[value]], padding=3, fontsize=8)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    # A share ends at 100%; the labels of full bars are drawn beside the axis, not past it.
    ax.set_xlim(0, min(1.0, max(0.05, table[value].max()) * 1.2))
    for label in ax.texts:
        label.set_clip_on(False)
    ax.set_title(title)
    return fig


PERCENT_WORDS = (
    "share",
    "conversion",
    "rate",
    "filled",
    "mql_to_sql",
    "lead_to_sql",
    "within",
    "capture",
)
MONEY_WORDS = (
    "revenue",
    "pipeline",
    "spend",
    "cost_per",
    "deal",
    "velocity",
    "amount",
    "_opportunity",
)
HOUR_WORDS = ("hours", "days")
# Words a snake_case header holds that people write otherwise.
HEADER_WORDS = {
    "mql": "MQL",
    "mqls": "MQLs",
    "sql": "SQL",
    "sqls": "SQLs",
    "sal": "SAL",
    "sla": "SLA",
    "id": "ID",
    "p90": "90th percentile",
    "psi": "PSI",
    "roc": "ROC",
    "auc": "AUC",
    "pr": "PR",
    "ece": "ECE",
    "shap": "SHAP",
    "pp": "pp",
    "reengaged": "re-engaged",
    "reengagement": "re-engagement",
    "reengage": "re-engage",
}
HEADERS = {
    "owner_id": "Rep",
    "met": "Met",
    "lead_source": "Lead source",
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "lift_at_10": "Lift in the top 10%",
    "brier": "Brier score",
    "ece": "ECE",
}


def header_words(name) -> str:
    """A column header as people write it: 'share_within_sla' -> 'Share within SLA'."""
    text = str(name)
    if text in HEADERS:
        return HEADERS[text]
    if "_" not in text and text != text.lower():
        return text[:1].upper() + text[1:]  # already in words
    words = [HEADER_WORDS.get(w, w) for w in text.split("_") if w]
    if not words:
        return text
    first = words[0]
    words[0] = first[:1].upper() + first[1:] if first.islower() else first
    return " ".join(words)


def _whole(values: pd.Series) -> bool:
    present = values.dropna()
    return bool(len(present)) and bool((present == present.round()).all())


def _yes_no(value) -> str:
    return "–" if pd.isna(value) else ("yes" if value else "no")


def styled(table: pd.DataFrame):
    """A table for display, read by people: headers in words, shares as percentages, money in
    dollars, hours and days to one decimal, counts whole with separators, yes/no for flags (an
    SLA's met/missed in words, from its status column)."""
    if "status" in table.columns and "met" in table.columns:
        table = table.drop(columns="met")
    formats = {}
    for column in table.columns:
        name = str(column)
        values = table[column]
        if pd.api.types.is_bool_dtype(values) or (
            values.dtype == object
            and values.dropna().map(type).eq(bool).all()
            and values.notna().any()
        ):
            formats[column] = _yes_no
        elif pd.api.types.is_integer_dtype(values):
            formats[column] = "{:,}"
        elif not pd.api.types.is_float_dtype(values):
            continue
        elif name == "actual" or any(word in name for word in PERCENT_WORDS):
            formats[column] = "{:.1%}"
        elif any(word in name for word in MONEY_WORDS):
            formats[column] = "${:,.0f}"
        elif any(word in name for word in HOUR_WORDS):
            formats[column] = "{:,.1f}"
        elif _whole(values):  # counts that went through a float (a sum, a join)
            formats[column] = "{:,.0f}"
        else:
            small = values.abs().max() < 10
            formats[column] = "{:,.3f}" if small else "{:,.1f}"
    # Styler writes values and headers as they are: escaped, a value from the data is text.
    return (
        table.style.format(formats, na_rep="–", escape="html")
        .format_index(header_words, escape="html", axis=1)
        .hide(axis="index")
    )


def styled_or_note(table: pd.DataFrame, note: str):
    """The table styled for a notebook, or, when it is empty, the reason in words (an empty
    table says nothing to a reader)."""
    if len(table):
        return styled(table)
    from IPython.display import Markdown

    return Markdown(html.escape(note, quote=False))


MODEL_COLORS = {
    "baseline": "#7f8c8d",
    "logistic": "#27ae60",
    "lightgbm": "#2e86c1",
    "blend": "#d35400",
    "oracle": "#8e44ad",
}


def _test_scorers(predictions: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    # scikit-learn only for the model charts: the audit notebook imports plots too.
    from scoring.model.evaluate import scorers

    test = predictions[predictions["split"] == "test"]
    return test, scorers(test)


def _curve_per_scorer(predictions: pd.DataFrame, kind: str) -> tuple[Figure, Axes, pd.Series]:
    """One curve per scorer on test: 'roc' (x: FPR, y: TPR) or 'pr' (x: recall, y: precision),
    each labelled with its area."""
    from sklearn import metrics

    test, named = _test_scorers(predictions)
    fig, ax = _figure(5.5, 4.5)
    for name, (rank, _) in named.items():
        label, score = test["label"], test[rank]
        if kind == "roc":
            x, y, _ = metrics.roc_curve(label, score)
            area = f"AUC {metrics.roc_auc_score(label, score):.3f}"
        else:
            y, x, _ = metrics.precision_recall_curve(label, score)
            area = f"PR-AUC {metrics.average_precision_score(label, score):.3f}"
        ax.plot(
            x,
            y,
            color=MODEL_COLORS[name],
            label=f"{name} ({area})",
            linestyle="--" if name == "oracle" else "-",
        )
    return fig, ax, test["label"]


def roc_curves(predictions: pd.DataFrame) -> Figure:
    """ROC curve per scorer on test."""
    fig, ax, _ = _curve_per_scorer(predictions, "roc")
    ax.plot([0, 1], [0, 1], color="#bbbbbb", linewidth=0.8)
    _labels(ax, "false positive rate", "true positive rate", "ROC on test")
    return fig


def pr_curves(predictions: pd.DataFrame) -> Figure:
    """Precision-recall curve per scorer on test."""
    fig, ax, label = _curve_per_scorer(predictions, "pr")
    ax.axhline(label.mean(), color="#bbbbbb", linewidth=0.8, label="base rate")
    _labels(
        ax,
        "recall (share of conversions found)",
        "precision (conversion among selected)",
        "Precision-recall on test",
    )
    return fig


def reliability(predictions: pd.DataFrame, bins: int = 10) -> Figure:
    """Observed conversion against predicted probability, in quantile bins."""
    test, named = _test_scorers(predictions)
    fig, ax = _figure(5.5, 4.5)
    top = 0.0
    for name, (_, prob) in named.items():
        frame = pd.DataFrame({"p": test[prob], "y": test["label"]})
        frame["bin"] = pd.qcut(frame["p"].rank(method="first"), bins, labels=False)
        grouped = frame.groupby("bin").agg(p=("p", "mean"), y=("y", "mean"))
        top = max(top, grouped.max().max())
        ax.plot(grouped["p"], grouped["y"], marker="o", color=MODEL_COLORS[name], label=name)
    ax.plot([0, top], [0, top], color="#bbbbbb", linewidth=0.8, label="perfect calibration")
    _labels(ax, "predicted probability", "observed conversion", "Calibration on test")
    return fig


def gains_and_lift(predictions: pd.DataFrame) -> Figure:
    """Cumulative gains (share of conversions found) and lift by share of leads worked."""
    test, named = _test_scorers(predictions)
    fig = Figure(figsize=(10, 4), layout="constrained")
    gains_ax, lift_ax = fig.subplots(1, 2)
    share = np.arange(1, len(test) + 1) / len(test)
    total = test["label"].sum()
    for name, (rank, _) in named.items():
        ordered = test["label"].to_numpy()[np.argsort(-test[rank].to_numpy(), kind="stable")]
        found = np.cumsum(ordered) / total
        gains_ax.plot(share, found, color=MODEL_COLORS[name], label=name)
        lift_ax.plot(share[50:], (found / share)[50:], color=MODEL_COLORS[name], label=name)
    gains_ax.plot([0, 1], [0, 1], color="#bbbbbb", linewidth=0.8)
    for ax, title, ylabel in (
        (gains_ax, "Cumulative gains", "share of conversions found"),
        (lift_ax, "Lift", "conversion vs. random"),
    ):
        ax.spines[["top", "right"]].set_visible(False)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xlabel("share of leads worked, best scores first")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(frameon=False, fontsize=8)
    return fig


def score_distributions(predictions: pd.DataFrame, model: str) -> Figure:
    """The model's probability for converting and non-converting test leads."""
    test = predictions[predictions["split"] == "test"]
    fig, ax = _figure(7, 3.6)
    bins = np.linspace(0, test[model].quantile(0.995), 40)
    for outcome, color, label in ((0, "#95a5a6", "did not convert"), (1, BAR_COLOR, "converted")):
        ax.hist(
            test.loc[test["label"] == outcome, model],
            bins=bins,
            density=True,
            alpha=0.6,
            color=color,
            label=label,
        )
    ax.set_xlabel(f"{model} probability")
    ax.set_ylabel("density")
    ax.legend(frameon=False)
    ax.set_title(f"Score distributions by outcome ({model}, test)")
    return fig


def backtest(table: pd.DataFrame) -> Figure:
    """PR-AUC per backtest fold for each scorer: stability over time."""
    fig, ax = _figure(7, 3.6)
    if table.empty:  # models.backtest_folds: 0, or no fold with both outcomes
        ax.text(0.5, 0.5, "No backtest folds (models.backtest_folds)", ha="center", va="center")
        ax.set_axis_off()
        return fig
    for name, group in table.groupby("model"):
        group = group.sort_values("test_start")
        ax.plot(
            group["test_start"], group["pr_auc"], marker="o", color=MODEL_COLORS[name], label=name
        )
    ax.set_xlabel("test window start")
    ax.set_ylabel("PR-AUC")
    ax.legend(frameon=False)
    ax.set_title("Rolling-origin backtest")
    return fig


def save_figures(figures: dict[str, Figure], folder) -> list:
    """Save figures as PNG files named by their keys; returns the paths."""

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, figure in figures.items():
        path = folder / f"{name}.png"
        figure.savefig(path, dpi=110)
        paths.append(path)
    return paths


def importance(table: pd.DataFrame, top: int = 15) -> Figure:
    """Mean |SHAP contribution| per feature, coloured by family."""
    from matplotlib.patches import Patch

    colors = {"fit": "#2e86c1", "intent": "#e67e22", "source": "#7f8c8d"}
    shown = table.head(top)[::-1]
    fig, ax = _figure(8, 0.32 * len(shown) + 1.2)
    ax.barh(
        [feature_label(f) for f in shown["feature"]],
        shown["mean_abs_contribution"],
        color=[colors[f] for f in shown["family"]],
    )
    ax.legend(
        handles=[Patch(color=c, label=f) for f, c in colors.items()],
        frameon=False,
        loc="lower right",
    )
    ax.set_xlabel("mean |contribution| (log-odds)")
    ax.set_title("What drives the score (SHAP, test leads)")
    return fig


def beeswarm(explanation, top: int = 15) -> Figure:
    """SHAP beeswarm: each dot a lead, position its contribution, colour the feature's value."""
    import matplotlib.pyplot as plt
    import shap

    numeric = explanation.values.apply(
        lambda c: c if pd.api.types.is_numeric_dtype(c) else pd.Series(np.nan, index=c.index)
    )
    shap.summary_plot(
        explanation.contributions.to_numpy(),
        numeric.to_numpy(dtype=float),
        feature_names=list(explanation.values.columns),
        max_display=top,
        show=False,
        plot_size=(8, 0.35 * top + 1.5),
    )
    fig = plt.gcf()
    plt.close(fig)  # hand the figure over; keep nothing in pyplot's state
    return fig


def dependence(explanation, feature: str) -> Figure:
    """A feature's value against its contribution (categories as box plots)."""
    values = explanation.values[feature]
    contribution = explanation.contributions[feature]
    fig, ax = _figure(6, 3.6)
    if pd.api.types.is_numeric_dtype(values):
        ax.scatter(values, contribution, s=6, alpha=0.4, color=BAR_COLOR)
    else:
        order = contribution.groupby(values).median().sort_values().index
        ax.boxplot([contribution[values == level] for level in order], vert=False, showfliers=False)
        ax.set_yticks(range(1, len(order) + 1), [str(o) for o in order], fontsize=8)
    ax.axhline(0, color="#bbbbbb", linewidth=0.8) if pd.api.types.is_numeric_dtype(
        values
    ) else ax.axvline(0, color="#bbbbbb", linewidth=0.8)
    ax.set_title(f"How {feature} moves the score")
    return fig


def fit_intent_heatmap(matrix: pd.DataFrame) -> Figure:
    """Conversion and lead count per fit grade (A-D) x intent grade (1-4)."""
    conversion = matrix.pivot(index="fit", columns="intent", values="conversion")
    leads = matrix.pivot(index="fit", columns="intent", values="leads")
    fig, ax = _figure(5.5, 4.2)
    image = ax.imshow(conversion.to_numpy(dtype=float), cmap="Blues", vmin=0)
    ax.set_xticks(range(len(conversion.columns)), conversion.columns)
    ax.set_yticks(range(len(conversion.index)), conversion.index)
    ax.set_xlabel("intent (1 = strongest)")
    ax.set_ylabel("fit (A = best)")
    for (i, j), value in np.ndenumerate(conversion.to_numpy(dtype=float)):
        count = leads.to_numpy()[i, j]
        ax.text(
            j,
            i,
            "–" if np.isnan(value) else f"{value:.0%}\n{count:,.0f} leads",
            ha="center",
            va="center",
            fontsize=8,
            color="white" if value > np.nanmax(conversion.to_numpy()) / 2 else "black",
        )
    fig.colorbar(image, ax=ax, format=PercentFormatter(1.0), label="conversion")
    ax.set_title("Fit x intent: conversion on test")
    return fig


def tradeoff(
    model_table: pd.DataFrame,
    baseline_table: pd.DataFrame,
    policies: pd.DataFrame,
    baseline_name: str = "today's rules",
    per: str = "month",
    outcome: str = "SQL",
):
    """Interactive trade-off: MQLs per month (or per window, without dates) against
    conversion, the rules marked (plotly)."""
    import plotly.graph_objects as go

    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=model_table["mqls_per_month"],
            y=model_table["conversion"],
            mode="lines",
            name="model",
            line={"color": MODEL_COLORS["lightgbm"]},
            customdata=np.column_stack(
                [100 * np.sqrt(model_table["threshold"].clip(lower=0)), model_table["capture"]]
            ),
            hovertemplate=(
                f"%{{x:,.0f}} MQLs/{per}<br>conversion %{{y:.1%}}<br>captures "
                "%{customdata[1]:.0%} of conversions<br>score >= "
                "%{customdata[0]:.0f}<extra>model</extra>"
            ),
        )
    )
    figure.add_trace(
        go.Scatter(
            x=baseline_table["mqls_per_month"],
            y=baseline_table["conversion"],
            mode="lines",
            name=f"{baseline_name} (other thresholds)",
            line={"color": MODEL_COLORS["baseline"], "dash": "dot"},
            customdata=baseline_table[["threshold"]],
            hovertemplate=f"%{{x:,.0f}} MQLs/{per}<br>conversion %{{y:.1%}}<br>score >= "
            "%{customdata[0]:.3g}<extra>baseline</extra>",
        )
    )
    for row in policies.itertuples():
        if pd.isna(row.threshold) or pd.isna(getattr(row, "conversion", np.nan)):
            continue
        rules = row.policy == "today's rules"
        figure.add_trace(
            go.Scatter(
                x=[row.mqls_per_month],
                y=[row.conversion],
                mode="markers+text",
                text=[row.policy.replace("_", " ")],
                textposition="top right",
                marker={
                    "size": 12,
                    "symbol": "x" if rules else "circle",
                    "color": "#c0392b" if rules else MODEL_COLORS["lightgbm"],
                },
                name=row.policy.replace("_", " "),
                showlegend=False,
                hovertemplate=(
                    f"{row.policy.replace('_', ' ')}<br>%{{x:,.0f}} MQLs/{per}<br>conversion "
                    "%{y:.1%} (on test)<extra></extra>"
                ),
            )
        )
    figure.update_layout(
        title="MQL volume against conversion (validation; policies on test)",
        xaxis_title=f"MQLs per {per}",
        yaxis_title=(
            "MQL-to-SQL conversion" if outcome == "SQL" else f"conversion of MQLs to {outcome}"
        ),
        yaxis_tickformat=".0%",
        height=460,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        template="simple_white",
        legend={"orientation": "h", "y": -0.2},
    )
    figure.update_xaxes(type="log")
    return figure
