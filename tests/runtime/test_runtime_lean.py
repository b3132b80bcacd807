"""The lean runtime: scoring needs none of the training, reporting or notebook stack, and the
in-memory front door gives what the file scorer gives."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from scoring import runtime
from tests.conftest import ROOT
from tests.runtime.test_artifact import exported

BLOCKED = (
    "shap",
    "sklearn",
    "mlflow",
    "papermill",
    "matplotlib",
    "plotly",
    "jupyter",
    "jupyterlab",
    "jupyter_client",
    "ipykernel",
    "nbconvert",
    "nbformat",
    "pyspark",
    "optbinning",
    "scoring.model",
    "scoring.report",
    "scoring.audit",
    "scoring.tracking",
    "scoring.jobs",
    "scoring.spark",
    "scoring.cli",
)

CHILD = textwrap.dedent(
    """
    import importlib.abc
    import sys

    BLOCKED = {blocked!r}


    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if any(name == b or name.startswith(b + ".") for b in BLOCKED):
                raise ImportError(f"blocked in the lean runtime: {{name}}")
            return None


    sys.meta_path.insert(0, Blocker())

    import pandas as pd

    from scoring.runtime import score, score_file
    from scoring.runtime.artifact import load

    loaded = load({artifact!r})
    leads = pd.read_parquet({leads!r})
    activities = pd.read_parquet({activities!r})
    score(loaded, leads, activities).to_parquet({in_memory!r})
    summary = score_file(
        loaded, {leads!r}, {output!r}, activities_path={activities!r}, progress=False
    )
    loaded_now = sorted(
        m for m in sys.modules if any(m == b or m.startswith(b + ".") for b in BLOCKED)
    )
    assert not loaded_now, loaded_now
    print("rows", summary.rows, "scored", summary.scored)
    """
)


@pytest.fixture(scope="module")
def lean_model(tmp_path_factory, small_dataset, small_crm):
    folder = tmp_path_factory.mktemp("lean")
    *_, artifact_dir = exported(folder, small_dataset, ["lightgbm"])
    leads = small_crm.leads.sample(1500, random_state=3)  # not in creation order
    activities = small_crm.activities[small_crm.activities["lead_id"].isin(leads["lead_id"])]
    leads.to_parquet(folder / "leads.parquet", index=False)
    activities.to_parquet(folder / "activities.parquet", index=False)
    return folder, artifact_dir, leads, activities


def test_scoring_runs_with_the_training_stack_blocked(lean_model):
    folder, artifact_dir, leads, _ = lean_model
    script = CHILD.format(
        blocked=BLOCKED,
        artifact=str(artifact_dir),
        leads=str(folder / "leads.parquet"),
        activities=str(folder / "activities.parquet"),
        in_memory=str(folder / "in_memory.parquet"),
        output=str(folder / "scored.csv"),
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"rows {len(leads)} scored {len(leads)}" in done.stdout
    in_memory = pd.read_parquet(folder / "in_memory.parquet")
    from_file = pd.read_csv(folder / "scored.csv", dtype={"lead_id": str})
    assert in_memory["lead_id"].tolist() == leads["lead_id"].astype(str).tolist()
    assert from_file["lead_id"].tolist() == leads["lead_id"].astype(str).tolist()
    pd.testing.assert_series_equal(
        in_memory["probability"], from_file["probability"], check_exact=False, rtol=1e-12
    )


def test_in_memory_scoring_matches_the_file_scorer_row_for_row(lean_model, tmp_path):
    folder, artifact_dir, leads, activities = lean_model
    frame = runtime.score(artifact_dir, leads, activities, reasons=True)
    summary = runtime.score_file(
        runtime.artifact.load(artifact_dir),
        folder / "leads.parquet",
        tmp_path / "scored.parquet",
        activities_path=folder / "activities.parquet",
        progress=False,
    )
    from_file = pd.read_parquet(tmp_path / "scored.parquet")
    assert summary.rows == len(frame) == len(leads)
    pd.testing.assert_frame_equal(frame, from_file, check_dtype=False)
    assert {"probability", "score", "grade", "is_mql", "reason_up_1", "error"} <= set(frame)


def test_a_lead_without_created_at_keeps_its_row_with_an_error(lean_model):
    _, artifact_dir, leads, activities = lean_model
    broken = leads.head(5).copy()
    broken.loc[broken.index[2], "created_at"] = pd.NaT
    frame = runtime.score(artifact_dir, broken, activities, as_of="2030-01-01T00:00:00+02:00")
    assert len(frame) == 5
    assert frame["error"].notna().tolist() == [False, False, True, False, False]
    assert "created_at missing" in frame["error"].iloc[2]
    assert frame["probability"].iloc[2] != frame["probability"].iloc[2]  # NaN: not scored


SERVED = textwrap.dedent(
    """
    import importlib.abc
    import sys

    BLOCKED = set({blocked!r})


    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"not in the model's requirements.txt: {{name}}")
            return None


    sys.meta_path.insert(0, Blocker())

    import mlflow.pyfunc
    import pandas as pd

    model = mlflow.pyfunc.load_model({model!r})
    leads = pd.read_parquet({leads!r})
    activities = pd.read_parquet({activities!r})
    from scoring.runtime import serving

    served = serving.with_activities(leads, activities)
    columns = model.metadata.get_input_schema().input_names()
    out = model.predict(served[columns], params={{"as_of": "2026-01-01T00:00:00"}})
    out.to_parquet({output!r})
    """
)


def requirement_closure(requirements: list[str]) -> set[str]:
    """The distributions pip installs for these requirements: each and its dependencies."""
    import re
    from importlib.metadata import PackageNotFoundError, requires

    def name(text: str) -> str:
        return re.split(r"[ ;<>=!~\\[(]", text.strip(), maxsplit=1)[0].lower().replace("_", "-")

    seen: set[str] = set()
    todo = [name(r) for r in requirements]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            found = requires(current) or []
        except PackageNotFoundError:
            continue
        todo += [name(r) for r in found if "extra ==" not in r]
    return seen


def test_the_served_model_needs_nothing_beyond_its_requirements(lean_model, tmp_path):
    """Score through the MLflow model in a fresh interpreter where every installed package
    outside the model's requirements.txt (and their dependencies) cannot be imported, as in an
    environment built from that file alone: a list written by hand once missed numba, and
    every prediction of a model served from its own requirements failed."""
    from importlib.metadata import packages_distributions

    from scoring.tracking import registry

    folder, artifact_dir, leads, activities = lean_model
    leads = leads.head(300)
    activities = activities[activities["lead_id"].isin(leads["lead_id"])]
    leads.to_parquet(tmp_path / "leads.parquet", index=False)
    activities.to_parquet(tmp_path / "activities.parquet", index=False)
    folder = tmp_path
    model = registry.save_pyfunc(artifact_dir, tmp_path / "model")
    allowed = requirement_closure((model / "requirements.txt").read_text().split())
    blocked = sorted(
        module
        for module, found in packages_distributions().items()
        if module != "scoring" and not {d.lower().replace("_", "-") for d in found} & allowed
    )
    assert {"shap", "optbinning", "jupyterlab", "pytest"} <= set(blocked)
    script = SERVED.format(
        blocked=blocked,
        model=str(model),
        leads=str(folder / "leads.parquet"),
        activities=str(folder / "activities.parquet"),
        output=str(tmp_path / "served.parquet"),
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    served = pd.read_parquet(tmp_path / "served.parquet")
    direct = runtime.score(artifact_dir, leads, activities, as_of="2026-01-01T00:00:00")
    assert served["lead_id"].tolist() == leads["lead_id"].astype(str).tolist()
    pd.testing.assert_series_equal(served["probability"], direct["probability"], rtol=1e-12)
