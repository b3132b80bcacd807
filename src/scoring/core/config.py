"""Typed parameters: params.yaml validated by one pydantic model that rejects unknown keys."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

STAGES = ("lead", "mql", "sal", "sql", "opportunity", "won")


class ParamsError(ValueError):
    """Raised when params.yaml or an override is invalid; the message is meant for people."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


DEFAULT_MISSING = ["", "NA", "N/A", "null", "none", "-", "Select"]


class FlatParams(_Section):
    """A flat CRM export: one row per lead with a conversion flag (bring your own data)."""

    path: str
    id_column: str | None = None  # None: rows are identified by their line number ("row")
    target_column: str
    positive_values: list[Any] = [1, "yes", "true", "converted", "closed won"]
    # Target values that mean "did not convert", beyond the obvious ones (0, no, false, lost,
    # closed lost, disqualified, ...: flat.NEGATIVE_WORDS). Any other value is an error.
    negative_values: list[Any] = []
    # Target values whose outcome is not known yet (an open status): those rows are left out of
    # training, counted in the report.
    unlabelled_values: list[Any] = []
    date_column: str | None = None
    order_column: str | None = None
    # No date or order column, but the rows are in time order (oldest first): split by position.
    rows_in_time_order: bool = False
    drop_columns: list[str] = []
    allow_columns: list[str] = []
    # The deal's amount (the revenue of a converted lead), for the audit's deal size and
    # revenue by source; known only after the outcome, so never a feature.
    amount_column: str | None = None
    missing_values: list[str] = DEFAULT_MISSING
    # The decimal mark of every number column ("." or ","); None: detected per column, and a
    # column that holds both "1,5" and "2.5" is refused.
    decimal: Literal[".", ","] | None = None
    # Dates written 01/10/2024: day first (True) or month first (False); None: detected per
    # column from values that can only be one way (13/10/2024), ambiguous columns refused.
    dayfirst: bool | None = None
    duplicate_ids: Literal["keep_first", "error"] = "error"
    min_positives: int = Field(50, ge=1)
    # Levels kept per category (the rest become "other"); LightGBM smooths rare levels itself.
    max_categories: int = Field(1000, ge=2)
    min_category_size: int = Field(20, ge=1)


class DataParams(_Section):
    """Where the input tables live and where results go (paths relative to params.yaml)."""

    source: Literal["synthetic", "tables", "flat"] = "synthetic"
    raw_dir: str = "data/raw"
    leads_file: str = "leads.parquet"
    activities_file: str = "activities.parquet"
    truth_file: str = "truth.parquet"
    export_file: str = "crm_export.csv"
    # Optional tables for the funnel audit's money sections, in raw_dir (null or a file that
    # is not there: those sections say they were skipped): marketing spend by month and
    # source (month, lead_source, amount), and the target-account list (company_name).
    spend_file: str | None = "spend.csv"
    target_accounts_file: str | None = "target_accounts.csv"
    reports_dir: str = "reports"
    flat: FlatParams | None = None

    @model_validator(mode="after")
    def _flat_needs_its_section(self) -> DataParams:
        if self.source == "flat" and self.flat is None:
            raise ValueError(
                "data.source is 'flat' but there is no data.flat section "
                "(path, id_column, target_column, ...)"
            )
        return self

    @property
    def leads_path(self) -> Path:
        return Path(self.raw_dir) / self.leads_file

    @property
    def activities_path(self) -> Path:
        return Path(self.raw_dir) / self.activities_file

    @property
    def truth_path(self) -> Path:
        return Path(self.raw_dir) / self.truth_file

    @property
    def export_path(self) -> Path:
        return Path(self.raw_dir) / self.export_file

    @property
    def spend_path(self) -> Path | None:
        return Path(self.raw_dir) / self.spend_file if self.spend_file else None

    @property
    def target_accounts_path(self) -> Path | None:
        return Path(self.raw_dir) / self.target_accounts_file if self.target_accounts_file else None


class ChannelDrop(_Section):
    """A channel whose lead quality drops at the end of the data window."""

    source: str = "paid_social"
    last_months: int = Field(3, ge=0)
    quality_shift: float = -1.0


class GeneratorParams(_Section):
    """Settings of the synthetic CRM generator (scoring.data.synth)."""

    n_leads: int = Field(50_000, ge=100)
    start_date: dt.date = dt.date(2024, 10, 1)
    months: int = Field(24, ge=3, le=120)
    monthly_growth: float = Field(0.03, ge=-0.2, le=0.5)
    seasonality: Fraction = 0.15
    n_reps: int = Field(12, ge=1)
    duplicate_rate: Fraction = 0.02
    missing_rate: Fraction = 0.08
    placeholder_rate: Fraction = 0.03
    out_of_order_rate: Fraction = 0.005
    late_campaign_months: int = Field(5, ge=0)
    channel_drop: ChannelDrop = ChannelDrop()
    # Leads that did not convert and come back to nurture: they re-engage 30 to 240 days
    # after creation (new visits, forms, demo requests), and some convert then.
    recycle_rate: Fraction = 0.05


class BusinessHours(_Section):
    start_hour: int = Field(9, ge=0, le=23)
    end_hour: int = Field(17, ge=1, le=24)

    @model_validator(mode="after")
    def _ordered(self) -> BusinessHours:
        if self.end_hour <= self.start_hour:
            raise ValueError("end_hour must be after start_hour")
        return self


class SlaTargets(_Section):
    """Service-level targets the audit marks as met or missed."""

    mql_to_sql_min: Fraction = 0.25
    first_touch_max_business_hours: float = Field(2.0, gt=0)
    first_touch_share_min: Fraction = 0.8
    # Sales accepts or rejects an MQL within funnel.sal_deadline_hours business hours ...
    sal_decided_share_min: Fraction = 0.8  # ... for at least this share of decided MQLs


class FunnelParams(_Section):
    """Funnel definition used by the audit (scoring.audit.funnel)."""

    stages: list[Literal[STAGES]] = list(STAGES)  # type: ignore[valid-type]
    business_hours: BusinessHours = BusinessHours()
    sla: SlaTargets = SlaTargets()
    segments: list[str] = ["company_size_band", "region", "industry"]
    response_time_buckets_hours: list[float] = [1.0, 2.0, 8.0, 24.0]
    min_segment_size: int = Field(30, ge=1)
    # Business hours sales has to accept or reject an MQL (the SAL deadline).
    sal_deadline_hours: float = Field(4.0, gt=0)

    @field_validator("stages")
    @classmethod
    def _stages_in_order(cls, stages: list[str]) -> list[str]:
        order = [STAGES.index(s) for s in stages]
        if not stages or order != sorted(set(order)) or stages[0] != "lead":
            raise ValueError(f"stages must start with 'lead' and follow the order {list(STAGES)}")
        return stages


class LabelParams(_Section):
    """What counts as a conversion and when a lead is scored (models issue)."""

    outcome: Literal["sql", "opportunity", "won"] = "sql"
    # The outcome in the words of the business, for the report ("SQL", "subscription",
    # "enrolment"). Empty: SQL, opportunity or won deal from `outcome`; for a flat export,
    # its target column's name.
    outcome_name: str | None = Field(None, min_length=1, max_length=60)
    window_days: int = Field(90, ge=1)
    scoring_moment: Literal["created_plus_days", "mql"] = "created_plus_days"
    days_after_created: int = Field(7, ge=0)
    # Any-age scoring: the model also learns from each lead at these ages (days after
    # creation) while it is still open, and scores every lead as of the scoring day, as a
    # daily job re-scores every open lead. Empty: one moment per lead, and a lead is scored as
    # of its moment (days_after_created) whatever its age.
    snapshot_days: list[int] = []
    # Moments each lead contributes on average: its days_after_created one, and every other
    # open (lead, age) drawn with the same seeded chance (a uniform sample of the daily
    # queue). Fewer rows train faster.
    snapshots_per_lead: float = Field(1.5, ge=1)
    # An any-age model also learns from the day after a lead comes back: its first activity
    # after this many quiet days (null: not). Re-engaged leads are where re-scoring pays.
    reengaged_after_quiet_days: int | None = Field(21, ge=1)

    @model_validator(mode="after")
    def _snapshots_by_age(self) -> LabelParams:
        if self.snapshot_days:
            if self.scoring_moment != "created_plus_days":
                raise ValueError(
                    "label.snapshot_days (an any-age model, scored at every age) needs "
                    "scoring_moment: created_plus_days; to score leads at their MQL, set "
                    "label.snapshot_days: [] (one moment a lead)"
                )
            if any(d < 0 for d in self.snapshot_days) or len(set(self.snapshot_days)) != len(
                self.snapshot_days
            ):
                raise ValueError("label.snapshot_days must be distinct whole days >= 0")
            if self.days_after_created not in self.snapshot_days:
                raise ValueError(
                    "label.snapshot_days must include days_after_created "
                    f"({self.days_after_created}): the reports measure the model at that age"
                )
        return self


AFTER_OUTCOME_PATTERNS = (
    r"(?<!marital )(?<!marital_)status",
    r"stage",
    r"lifecycle",
    r"rating",
    r"quality",
    r"grade",
    r"(?<!credit )(?<!credit_)score",  # a score the CRM computed (lead, engagement, ...)
    r"(?<!home)(?<!home )owner",
    r"\btags?\b",
    r"disposition",
    r"disqualif",
    r"lost ?_?reason",
    r"last ?_?(activity|contact|touch|engag)",
    r"notable ?_?activit",
    r"sales ?_?activit",
    r"(converted|closed|won|lost) ?_?(date|at|on|time)",
    r"(date|time) ?_?(converted|closed|won|lost)",
)
CREATION_TIME_PATTERNS = (
    r"source",
    r"origin",
    r"channel",
    r"campaign",
    r"landing ?_?page",
    r"\bform\b",
    r"utm",
    r"referr",
)


class FeatureParams(_Section):
    """Point-in-time feature windows and leakage guards (models issue)."""

    windows_days: list[int] = [7, 30, 90]
    # Which engine builds the activity features (scoring.data.feature_sql): DuckDB in process, or
    # Spark for activities that live in a lake or outgrow one machine (section `spark`).
    engine: Literal["duckdb", "spark"] = "duckdb"
    # DuckDB's memory limit ("4GB", "50%"); beyond it, it spills to a temporary folder.
    duckdb_memory_limit: str | None = Field(None, pattern=r"^\s*\d+(\.\d+)?\s*([KMGT]i?B|%)\s*$")
    # Train on a uniform random sample of this many eligible leads when there are more (a
    # feature table too big for memory, or for Spark's driver); recorded in training.json.
    max_leads: int | None = Field(None, ge=100)
    leakage_auc_max: Fraction = 0.9
    pure_category_rate: Fraction = 0.98
    pure_category_min_support: int = Field(50, ge=1)
    leakage_proxy_corr: Fraction = 0.8
    allow_columns: list[str] = []
    drop_columns: list[str] = []  # features never used (e.g. after a leakage review)
    # Column names (case-insensitive regular expressions) of fields a sales process fills in
    # after the scoring moment: a match is excluded unless it is in allow_columns.
    after_outcome_patterns: list[str] = list(AFTER_OUTCOME_PATTERNS)
    # Fields known when the lead is created: a near-pure category alone does not exclude them
    # (they are listed for review); the single-feature ROC-AUC rule still applies.
    creation_time_patterns: list[str] = list(CREATION_TIME_PATTERNS)
    # A column carrying more than this share of the chosen model's |SHAP| on validation is
    # listed for review.
    dominance_share: Fraction = 0.5
    # Evidence a single field knows the outcome: the fields strongest on their own (this many)
    # are each left out of a quick LightGBM on the training rows; a field whose absence costs
    # more than leakage_gain_max of validation ROC-AUC adds more than every other field
    # together can (the length of a sales call, a status), and is excluded.
    leakage_gain_candidates: int = Field(3, ge=0, le=20)
    leakage_gain_max: Fraction = 0.1
    # Evidence of a field the sales process fills in (flat exports): filled for at least 30%
    # of the leads that reached the outcome and this many times as often as for the others.
    # It is listed for review and left out of the quick model above, which excludes it when
    # its absence costs more than leakage_fill_gain_max of validation ROC-AUC.
    leakage_fill_ratio: float = Field(3.0, ge=1.0)
    leakage_fill_gain_max: Fraction = 0.005

    @field_validator("after_outcome_patterns", "creation_time_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:

        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {err}") from None
        return patterns


class Rule(_Section):
    """One points rule: `field op value` earns `points`."""

    name: str
    kind: Literal["fit", "behaviour"]
    field: str
    op: Literal["==", "!=", ">=", ">", "<=", "<", "in", "not_in"]
    value: Any
    points: float


class SparkParams(_Section):
    """Where Spark runs when features.engine is spark or scoring says --engine spark."""

    # A Spark master URL (spark://host:7077, yarn, local[4]); empty: SPARK_MASTER, else
    # local[*].
    master: str | None = None


class BaselineParams(_Section):
    """Today's hand-made points model, the baseline to beat (models issue)."""

    mql_threshold: float = 85.0
    rules: list[Rule] = []


class ModelParams(_Section):
    """Model families to train and their budgets (models issue)."""

    families: list[Literal["logistic", "lightgbm"]] = ["logistic", "lightgbm"]
    valid_months: int = Field(3, ge=1)
    test_months: int = Field(3, ge=1)
    backtest_folds: int = Field(3, ge=0)
    bootstrap_samples: int = Field(1000, ge=0)
    search_seconds: float = Field(0.0, ge=0)
    # Also consider a blend of the two families' log-odds (weight chosen on validation).
    blend: bool = True
    # A month-based split keeps at least this share of labelled rows for training; when whole
    # months leave less, the split falls back to time-ordered shares (and says so).
    min_train_share: float = Field(0.5, gt=0, lt=1)
    # Used when there are no dates, or by the fallback above: shares in time (or row) order.
    valid_fraction: float = Field(0.15, gt=0, lt=0.5)
    test_fraction: float = Field(0.15, gt=0, lt=0.5)


Policy = Literal[
    "volume_matched", "conversion_target", "sales_capacity", "expected_value", "top_share"
]


class ThresholdParams(_Section):
    """MQL threshold policies (scoring.model.thresholds)."""

    policies: list[Policy] = [
        "volume_matched",
        "conversion_target",
        "sales_capacity",
        "expected_value",
        "top_share",
    ]
    recommended: Policy = "volume_matched"
    min_conversion: Fraction = 0.25
    # Top share: MQL = the best-scored share of leads. It needs no rules and no money
    # settings, so it is what a run falls back on when those are missing or select everyone.
    top_share: float = Field(0.2, gt=0.0, lt=1.0)
    reps: int = Field(12, ge=1)
    mqls_per_rep_per_week: float = Field(25.0, gt=0)
    deal_value: float = Field(20_000.0, ge=0)  # value of one converted lead (SQL)
    cost_per_worked_lead: float = Field(150.0, ge=0)

    @model_validator(mode="after")
    def _recommended_is_computed(self) -> ThresholdParams:
        if self.recommended not in self.policies:
            raise ValueError(f"recommended policy {self.recommended!r} is not in policies")
        return self


class ExplainParams(_Section):
    """Explanations and reason codes (scoring.model.explain)."""

    wording: dict[str, str] = {}  # feature -> business words; {value} is replaced
    top_features: int = Field(3, ge=1, le=10)
    example_leads: int = Field(8, ge=1)


class PointsParams(_Section):
    """Learned point rules for marketing platforms (scoring.model.points)."""

    max_rules: int = Field(15, ge=1, le=100)
    max_bins: int = Field(4, ge=2, le=10)  # bins per field: at most max_bins - 1 rules each
    min_bin_share: float = Field(0.01, gt=0.0, lt=0.5)  # of training leads, per bin
    # Points that double the odds to convert. Whole points tie leads the weights tell
    # apart: 40 ranks close to 100 on validation (bench/points_scale.py, README).
    points_per_doubling: float = Field(40.0, gt=0)
    rounding: int = Field(1, ge=1)  # points are multiples of this (5: +15, +20, ...)
    # Where MQL falls, in points: the rules are scaled to it (empty: baseline.mql_threshold
    # when the team has rules, else 100).
    mql_points: float | None = Field(None, gt=0)
    fields: list[str] = []  # fields the rules may use (empty: every model feature) ...
    exclude_fields: list[str] = []  # ... except these (names the data lacks are ignored)


class MlflowParams(_Section):
    """Tracking location; MLFLOW_TRACKING_URI in the environment takes precedence."""

    tracking_uri: str = "sqlite:///mlruns/mlflow.db"
    artifact_dir: str = "mlruns/artifacts"
    experiment: str = "leadscore"


class ExportParams(_Section):
    """Where the portable scoring artifact goes (export issue)."""

    dir: str = "artifacts"
    model_name: str = "leadscore"
    # Recalibrate the exported model's probabilities on the newest labelled leads (the test
    # window), for a world whose conversion has moved since the calibration window. Every
    # threshold is mapped through it, so the same leads become MQLs; the report gives the
    # probabilities before and after. The run's own evaluation is of the model as trained.
    recalibrate_on_newest: bool = False


class RetrainParams(_Section):
    """When a retrained model (challenger) may replace the champion."""

    tolerance: float = Field(0.01, ge=0.0, le=1.0)
    min_positives: int = Field(30, ge=1)
    max_ece: float = Field(0.05, gt=0.0, le=1.0)
    # An any-age model: in each lead-age band of the daily queue with min_positives
    # conversions, mean predicted over realized within [1 / this, this].
    max_calibration_ratio_by_age: float = Field(2.0, gt=1.0)
    require_approval: bool = False


class Params(_Section):
    """Every parameter of a leadscore run. params.yaml is its only source."""

    seed: int = 7
    data: DataParams = DataParams()
    generator: GeneratorParams = GeneratorParams()
    funnel: FunnelParams = FunnelParams()
    label: LabelParams = LabelParams()
    features: FeatureParams = FeatureParams()
    spark: SparkParams = SparkParams()
    baseline: BaselineParams = BaselineParams()
    models: ModelParams = ModelParams()
    thresholds: ThresholdParams = ThresholdParams()
    explain: ExplainParams = ExplainParams()
    points: PointsParams = PointsParams()
    mlflow: MlflowParams = MlflowParams()
    export: ExportParams = ExportParams()
    retrain: RetrainParams = RetrainParams()


OUTCOME_WORDS = {"sql": "SQL", "opportunity": "opportunity", "won": "won deal"}


def outcome_name(params: Params) -> str:
    """The outcome as the report names it (label.outcome_name, or its default)."""
    if params.label.outcome_name:
        return params.label.outcome_name
    if params.data.source == "flat" and params.data.flat is not None:
        return params.data.flat.target_column
    return OUTCOME_WORDS[params.label.outcome]


def apply_overrides(raw: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Return a copy of `raw` with `section.key=value` overrides set (values parsed as YAML)."""
    result = yaml.safe_load(yaml.safe_dump(raw)) or {}
    for item in overrides:
        if "=" not in item:
            raise ParamsError(f"override {item!r} is not of the form section.key=value")
        dotted, text = item.split("=", 1)
        keys = [k for k in dotted.strip().split(".") if k]
        if not keys:
            raise ParamsError(f"override {item!r} names no key")
        node = result
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ParamsError(f"override {item!r}: {key!r} holds a value, not a section")
            node = child
        try:
            node[keys[-1]] = parse_yaml(text) if text.strip() else ""
        except yaml.YAMLError as err:
            raise ParamsError(f"override {item!r} is not valid YAML: {err}") from None
    return result


def _allowed(loc: tuple[Any, ...]) -> str:
    """Describe the keys allowed at the section holding `loc`."""
    model: type[BaseModel] = Params
    for key in loc[:-1]:
        field = model.model_fields.get(str(key))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    return ", ".join(model.model_fields)


def _format_validation_error(err: ValidationError, source: str) -> str:
    lines = [f"invalid parameters in {source}:"]
    for item in err.errors():
        path = ".".join(str(p) for p in item["loc"]) or "(top level)"
        value = item.get("input")
        if item["type"] == "extra_forbidden":
            lines.append(
                f"  - {path}: unknown key (found value {_short(value)}); "
                f"allowed keys here: {_allowed(item['loc'])}"
            )
        else:
            lines.append(f"  - {path}: {item['msg']} (found {_short(value)})")
    return "\n".join(lines)


def validate_params(raw: dict[str, Any], source: str = "params") -> Params:
    """Validate a raw mapping into Params, raising ParamsError with readable messages."""
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        raise ParamsError(_format_validation_error(err, source)) from None


def _resolve_paths(params: Params, base: Path) -> Params:
    """Make relative paths absolute against the params file's folder."""

    def absolute(path: str) -> str:
        # Normalised too: no `..` is left to slip a folder past the checks.
        return str((base / path).resolve())  # an absolute path ignores base

    flat = params.data.flat
    if flat is not None:
        flat = flat.model_copy(update={"path": absolute(flat.path)})
    data = params.data.model_copy(
        update={
            "raw_dir": absolute(params.data.raw_dir),
            "reports_dir": absolute(params.data.reports_dir),
            "flat": flat,
        }
    )
    uri = params.mlflow.tracking_uri
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = "sqlite:///" + absolute(uri.removeprefix("sqlite:///"))
    mlflow = params.mlflow.model_copy(
        update={"artifact_dir": absolute(params.mlflow.artifact_dir), "tracking_uri": uri}
    )
    export = params.export.model_copy(update={"dir": absolute(params.export.dir)})
    return params.model_copy(update={"data": data, "mlflow": mlflow, "export": export})


# Folders a run never writes into, whatever params say (a wrong or hostile params file run
# as root by a scheduler must not write system files).
SYSTEM_FOLDERS = (
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run",
    "/sbin", "/sys", "/usr", "/var/lib", "/var/cache", "/var/spool",
)  # fmt: skip


def check_output_folders(params: Params, source: str) -> None:
    """Refuse output folders (resolved, no `..` left) that are `/` or in a system folder."""
    folders = {
        "data.reports_dir": params.data.reports_dir,
        "data.raw_dir": params.data.raw_dir,
        "export.dir": params.export.dir,
        "mlflow.artifact_dir": params.mlflow.artifact_dir,
    }
    uri = params.mlflow.tracking_uri
    if uri.startswith("sqlite:///"):
        # sqlite:////abs/path.db (relative ones were made absolute): "//etc" would not equal
        # "/etc", so the path is read from the fourth slash.
        folders["mlflow.tracking_uri"] = str(Path(uri.removeprefix("sqlite:///")).parent)
    for key, folder in folders.items():
        path = Path(folder)
        inside = [s for s in SYSTEM_FOLDERS if path == Path(s) or Path(s) in path.parents]
        if path == Path("/") or inside:
            raise ParamsError(
                f"invalid parameters in {source}: {key} resolves to {path}, "
                f"{'the root folder' if not inside else 'inside the system folder ' + inside[0]}"
                "; leadscore never writes there. Use a folder of the project or one such as "
                "/srv/leadscore"
            )


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without aliases: ten lines of nested aliases expand to gigabytes (a "billion
    laughs"), and params never need them."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None,
                None,
                f"the alias *{event.anchor} is not allowed in params (write the value out)",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def parse_yaml(text: str) -> Any:
    """YAML as params read it: safe types only, no aliases."""
    return yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader: no Python objects


def _short(value: Any, limit: int = 80) -> str:
    """A value for an error message: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def read_raw_params(path: Path | str) -> dict[str, Any]:
    """Read params.yaml as a plain mapping."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file not found: {path}")
    try:
        raw = parse_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ParamsError(f"{path} is not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path} must hold a mapping of sections, found {type(raw).__name__}")
    return raw


def load_params(
    path: Path | str = "params.yaml", overrides: list[str] | tuple[str, ...] = ()
) -> Params:
    """Load, override and validate params; relative paths resolve against the file's folder."""
    path = Path(path)
    raw = apply_overrides(read_raw_params(path), list(overrides))
    params = validate_params(
        raw, source=f"{path}" + (f" with overrides {list(overrides)}" if overrides else "")
    )
    resolved = _resolve_paths(params, path.resolve().parent)
    check_output_folders(resolved, str(path))
    return resolved


def dump_params(params: Params) -> str:
    """Resolved params as YAML, for saving with every run."""
    return yaml.safe_dump(params.model_dump(), sort_keys=False)


def input_kind(params: Params) -> str:
    """'flat' for a flat export, 'tables' for leads and activities (synthetic or real); the
    artifact records the same word, so a model and a run can be matched."""
    return "flat" if params.data.source == "flat" else "tables"
