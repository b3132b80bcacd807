"""A scheduled retrain killed anywhere (in any stage, while storing the new version, while
promoting it) leaves `champion` pointing at a complete, verified version."""

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from scoring.cli import app
from scoring.jobs import stages
from scoring.runtime import artifact
from scoring.tracking import registry

ROOT = Path(__file__).resolve().parents[2]
KILL_POINTS = (*stages.STAGES, "storing the version", "promoting")


@pytest.fixture(scope="module")
def champion(tmp_path_factory):
    folder = tmp_path_factory.mktemp("retrain-faults")
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["generator"]["n_leads"] = 2_000
    raw["models"].update({"bootstrap_samples": 20, "backtest_folds": 0})
    raw["retrain"].update({"min_positives": 10, "max_ece": 0.2, "tolerance": 0.2})
    params = folder / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    first = CliRunner().invoke(app, ["retrain", "--params", str(params)])
    assert first.exit_code == 0, first.output
    yield folder, params
    shutil.rmtree(folder, ignore_errors=True)


def _killed(*_args, **_kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("where", KILL_POINTS)
def test_a_killed_retrain_leaves_a_verified_champion(champion, where, monkeypatch):
    folder, params = champion
    models = folder / "artifacts" / "leadscore"
    before = (models / "champion").resolve()
    if where in stages.STAGES:
        monkeypatch.setattr(stages, where, _killed)
    elif where == "storing the version":
        copy = shutil.copytree

        def half_copied(*args, **kwargs):
            copied = copy(*args, **kwargs)
            target = Path(kwargs.get("dst", args[1] if len(args) > 1 else ""))
            if target.name.startswith(".v"):  # the copy into artifacts/<model>/
                (target / "model_card.md").unlink()
                raise KeyboardInterrupt
            return copied

        monkeypatch.setattr(registry.shutil, "copytree", half_copied)
    else:  # after the registry alias moved, before the local link did
        monkeypatch.setattr(registry, "set_alias", _killed)
    killed = CliRunner().invoke(app, ["retrain", "--params", str(params)])
    assert killed.exit_code == 130, killed.output  # an interrupt, as a shell reports Ctrl-C
    assert (models / "champion").resolve() == before
    loaded = artifact.load(models)  # verifies every file of the champion
    assert loaded.path == before
    # No half-written version is ever visible as one, and none is left aside.
    for version in models.glob("v*"):
        assert artifact.verify(version)["files"]
    assert not list(models.glob(".v*"))
