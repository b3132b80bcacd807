from pathlib import Path

import pytest
import yaml

from scoring.core.config import ParamsError, apply_overrides, dump_params, load_params

ROOT = Path(__file__).resolve().parents[2]


def test_project_params_are_valid():
    params = load_params(ROOT / "params.yaml")
    assert params.funnel.sla.mql_to_sql_min == 0.25
    assert params.funnel.sla.first_touch_max_business_hours == 2
    assert params.baseline.mql_threshold == 85
    assert params.baseline.rules, "the default baseline rules are part of params.yaml"


def test_unknown_key_names_path_value_and_allowed_keys(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"funnel": {"sla": {"mql_to_sql_minimum": 0.3}}}))
    with pytest.raises(ParamsError) as err:
        load_params(path)
    message = str(err.value)
    assert "funnel.sla.mql_to_sql_minimum" in message
    assert "unknown key" in message and "0.3" in message
    assert "mql_to_sql_min" in message  # what is allowed


def test_unknown_section_is_refused(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("modelz: {}\n")
    with pytest.raises(ParamsError, match="modelz: unknown key"):
        load_params(path)


def test_wrong_type_names_path_and_value(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"generator": {"n_leads": "lots"}}))
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert "generator.n_leads" in str(err.value) and "'lots'" in str(err.value)


def test_out_of_range_and_literal_errors_say_what_is_allowed():
    root = ROOT / "params.yaml"
    with pytest.raises(ParamsError, match=r"funnel.sla.mql_to_sql_min.*less than or equal to 1"):
        load_params(root, ["funnel.sla.mql_to_sql_min=1.5"])
    with pytest.raises(ParamsError, match=r"label.outcome.*'sql', 'opportunity' or 'won'"):
        load_params(root, ["label.outcome=mql"])
    with pytest.raises(ParamsError, match=r"funnel.stages.*start with 'lead'"):
        load_params(root, ["funnel.stages=[mql, lead]"])


def test_overrides_set_nested_values_and_are_validated():
    params = load_params(
        ROOT / "params.yaml", ["generator.n_leads=1234", "seed=3", "funnel.segments=[region]"]
    )
    assert params.generator.n_leads == 1234 and params.seed == 3
    assert params.funnel.segments == ["region"]
    with pytest.raises(ParamsError, match=r"generator\.n_lead: unknown key"):
        load_params(ROOT / "params.yaml", ["generator.n_lead=5"])
    with pytest.raises(ParamsError, match=r"section\.key=value"):
        load_params(ROOT / "params.yaml", ["generator.n_leads"])


def test_apply_overrides_does_not_mutate_input():
    raw = {"generator": {"n_leads": 10}}
    out = apply_overrides(raw, ["generator.n_leads=20"])
    assert raw["generator"]["n_leads"] == 10 and out["generator"]["n_leads"] == 20


def test_relative_paths_resolve_against_the_params_folder(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("data: {raw_dir: mydata}\n")
    params = load_params(path)
    assert Path(params.data.raw_dir) == tmp_path / "mydata"
    assert params.data.leads_path == tmp_path / "mydata" / "leads.parquet"


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [1, 2\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)


def test_dump_round_trips(tmp_path):
    params = load_params(ROOT / "params.yaml", ["seed=11"])
    path = tmp_path / "resolved.yaml"
    path.write_text(dump_params(params))
    assert load_params(path) == params


@pytest.mark.parametrize(
    "key",
    ["data.reports_dir", "export.dir", "mlflow.artifact_dir", "data.raw_dir"],
)
def test_an_output_folder_that_escapes_into_a_system_folder_is_refused(tmp_path, key):
    (tmp_path / "p.yaml").write_text("seed: 7\n")
    escape = "../" * (len(tmp_path.parts) + 2) + "etc/leadscore"
    with pytest.raises(ParamsError, match=r"resolves to /etc/leadscore, inside the system"):
        load_params(tmp_path / "p.yaml", [f"{key}={escape}"])
    with pytest.raises(ParamsError, match="the root folder"):
        load_params(tmp_path / "p.yaml", [f"{key}=/tmp/../"])
    assert not Path("/etc/leadscore").exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "p.yaml"]  # nothing was created


def test_absolute_output_folders_elsewhere_stay_allowed(tmp_path):
    (tmp_path / "p.yaml").write_text("seed: 7\n")
    params = load_params(tmp_path / "p.yaml", ["data.reports_dir=/srv/leadscore/x/../reports"])
    assert params.data.reports_dir == "/srv/leadscore/reports"


def test_duckdb_memory_limit_is_a_size_duckdb_understands():
    from scoring.core.config import FeatureParams

    for size in ("4GB", "512MiB", "50%", "1.5GB"):
        assert FeatureParams(duckdb_memory_limit=size).duckdb_memory_limit == size
    with pytest.raises(ValueError, match="duckdb_memory_limit"):
        FeatureParams(duckdb_memory_limit="4GB'; DROP TABLE x; --")


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ({"snapshot_days": [0, 1, 3]}, "must include days_after_created"),
        ({"snapshot_days": [0, 7, 7]}, "distinct"),
        ({"snapshot_days": [-1, 7]}, "distinct whole days >= 0"),
        ({"snapshot_days": [0, 7], "scoring_moment": "mql"}, "created_plus_days"),
        ({"snapshots_per_lead": 0}, "greater than or equal to 1"),
    ],
)
def test_any_age_settings_are_checked(tmp_path, label, message):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"label": label}))
    with pytest.raises(ParamsError, match=message):
        load_params(path)


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    # Regression: ten lines of nested aliases took 3.1 GB and no answer in 120 s.
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for k in "bcdefghi":
        previous = chr(ord(k) - 1)
        lines.append(f"{k}: &{k} [" + ", ".join([f"*{previous}"] * 9) + "]")
    lines.append("label: {outcome: *i}")
    path = tmp_path / "params.yaml"
    path.write_text("\n".join(lines))
    with pytest.raises(ParamsError, match=r"alias \*a is not allowed"):
        load_params(path)
    with pytest.raises(ParamsError, match="alias"):
        apply_overrides({}, ["label.outcome=*a"])


def test_an_unknown_key_with_a_huge_value_prints_a_short_message(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"label": {"outcomes": ["sql"] * 10_000}}))
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert len(str(err.value)) < 600 and "label.outcomes" in str(err.value)


def test_a_tracking_database_in_a_system_folder_is_refused(tmp_path):
    # Regression: sqlite:////etc/x.db was read as "//etc", which is not "/etc".
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"mlflow": {"tracking_uri": "sqlite:////etc/x.db"}}))
    with pytest.raises(ParamsError, match="inside the system folder /etc"):
        load_params(path)
