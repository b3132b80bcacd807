"""The exported artifact: same probabilities as the trained model, no pickle, tamper-proof."""

import copy
import json
import os
import shutil

import numpy as np
import pytest

from scoring.io import runfolder
from scoring.io.runfolder import RunFolder
from scoring.jobs import export
from scoring.model import draft, evaluate, explain, points_page, thresholds, train, training_record
from scoring.runtime import artifact
from scoring.tracking import registry


def exported(tmp_path, small_dataset, families, chosen=None, trained=None, with_points=False):
    """Train in process (or take a `trained` result of the same data) and export through the
    real draft/complete path (`chosen` overrides the model validation chose; `with_points`
    learns point rules, which the artifact then carries)."""
    params, _, dataset = small_dataset
    params = params.model_copy(
        update={
            "models": params.models.model_copy(
                update={"families": families, "backtest_folds": 0, "bootstrap_samples": 20}
            ),
            "export": params.export.model_copy(update={"dir": str(tmp_path / "artifacts")}),
        }
    )
    if trained is None:
        result = train.train_all(dataset, params.models, params.features, params.baseline, 7)
    else:
        result = copy.copy(trained)  # the shared result keeps its own choice
    result.chosen_model = chosen or result.chosen_model
    (tmp_path / "run").mkdir()
    run = RunFolder(tmp_path / "run")
    draft.write_draft(result, dataset, params, run.draft)
    summary = training_record.training_summary(result, dataset, "f" * 64)
    training_record.save_outputs(result, summary, run)
    metrics = evaluate.metrics_document(
        evaluate.evaluate(result.predictions, 20, 7), summary, "run", None
    )
    run.write(runfolder.METRICS, metrics)
    recommendation = thresholds.recommend(
        result.predictions, result.chosen_model, params.thresholds, 85.0, 20, 7
    )
    thresholds.save(recommendation, params.thresholds, run)
    if with_points:
        from scoring.model import points

        card, _, evaluation = points.build(
            dataset.features.reset_index(drop=True),
            result.predictions.reset_index(drop=True),
            result.feature_columns,
            result.chosen_model,
            params,
        )
        saved = points.document(card, evaluation, params.points)
        points_page.save(saved, card.table, "became SQL", run)
    folder = export.complete(run, params)
    return params, result, dataset, folder


@pytest.fixture(scope="module")
def lightgbm_export(tmp_path_factory, small_dataset):
    return exported(tmp_path_factory.mktemp("lgb"), small_dataset, ["lightgbm"])


def test_logistic_artifact_reproduces_the_model(tmp_path, small_dataset, small_training):
    _, result, dataset, folder = exported(
        tmp_path, small_dataset, ["logistic"], "logistic", small_training[2]
    )
    loaded = artifact.load(folder)
    X = dataset.features[result.feature_columns]
    expected = result.predictions["logistic"].to_numpy()
    assert np.max(np.abs(loaded.predict_proba(X) - expected)) < 1e-9
    contributions, base = loaded.contributions(X.head(200))
    reference = explain.explain(
        result.models["logistic"], X.head(200), X[(result.split.assignment == "train").to_numpy()]
    )
    assert np.allclose(contributions, reference.contributions.to_numpy(), atol=1e-9)
    assert base == pytest.approx(reference.base_value, abs=1e-9)


def test_lightgbm_artifact_reproduces_the_model_and_its_shap(lightgbm_export):
    _, result, dataset, folder = lightgbm_export
    loaded = artifact.load(folder)
    X = dataset.features[result.feature_columns]
    expected = result.predictions["lightgbm"].to_numpy()
    assert np.max(np.abs(loaded.predict_proba(X) - expected)) < 1e-9
    contributions, _ = loaded.contributions(X.head(300))
    reference = explain.explain(result.models["lightgbm"], X.head(300))
    assert np.allclose(contributions, reference.contributions.to_numpy(), atol=1e-9)


def test_blend_artifact_reproduces_the_blend_and_its_shap(tmp_path, small_dataset, small_training):
    _, result, dataset, folder = exported(
        tmp_path, small_dataset, ["logistic", "lightgbm"], "blend", small_training[2]
    )
    blend = result.models["blend"]
    assert set(blend.weights) == {"lightgbm", "logistic"}
    assert sum(blend.weights.values()) == pytest.approx(1.0)
    loaded = artifact.load(folder)
    assert loaded.weights == blend.weights
    assert {artifact.LIGHTGBM_FILE, artifact.LOGISTIC_FILE} <= {p.name for p in folder.iterdir()}
    X = dataset.features[result.feature_columns]
    expected = result.predictions["blend"].to_numpy()
    assert np.max(np.abs(loaded.predict_proba(X) - expected)) < 1e-9
    train_X = X[(result.split.assignment == "train").to_numpy()]
    contributions, base = loaded.contributions(X.head(200))
    reference = explain.explain(blend, X.head(200), train_X)
    assert np.allclose(contributions, reference.contributions.to_numpy(), atol=1e-9)
    assert base == pytest.approx(reference.base_value, abs=1e-9)
    # SHAP adds up to the blend's log-odds.
    assert np.allclose(contributions.sum(axis=1) + base, blend.log_odds(X.head(200)), atol=1e-6)


def test_artifact_holds_the_documented_files_and_no_pickle(lightgbm_export):
    _, _, _, folder = lightgbm_export
    names = {p.name for p in folder.iterdir()}
    assert set(artifact.REQUIRED) | {artifact.LIGHTGBM_FILE, artifact.MANIFEST} == names
    assert artifact.find_pickles(folder) == []
    card = json.loads((folder / artifact.CARD_JSON).read_text())
    assert card["training_window"] and card["data_fingerprint"] == "f" * 64
    assert set(card["test_metrics"]["pr_auc"]) == {"value", "ci"}
    assert card["intended_use"] and card["limits"]
    policy = json.loads((folder / artifact.THRESHOLDS_FILE).read_text())
    assert 0 < policy["mql_probability"] < 1


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("flip", "changed since export (sha256 differs): model.txt"),
        ("delete", "missing: calibration.json"),
        ("extra", "not in the manifest: notes.txt"),
        ("pickle", "pickle-like content: model.pkl"),
        ("manifest", "no manifest.json"),
        # Regression: a link to an identical copy outside the version passed the hash check.
        ("link", "a link, not allowed in an artifact: model.txt"),
        ("fifo", "not a regular file, not allowed in an artifact: pipe"),
    ],
)
def test_a_tampered_or_incomplete_artifact_is_refused(lightgbm_export, tmp_path, damage, message):
    _, _, _, folder = lightgbm_export
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    if damage == "flip":
        model = bytearray((copy / "model.txt").read_bytes())
        model[len(model) // 2] ^= 0x01
        (copy / "model.txt").write_bytes(bytes(model))
    elif damage == "delete":
        (copy / "calibration.json").unlink()
    elif damage == "extra":
        (copy / "notes.txt").write_text("hello")
    elif damage == "pickle":
        import pickle

        (copy / "model.pkl").write_bytes(pickle.dumps({"a": 1}))
        artifact.write_manifest(copy)  # even a re-signed manifest does not let a pickle in
    elif damage == "link":
        outside = tmp_path / "elsewhere.txt"
        shutil.copy(copy / "model.txt", outside)
        (copy / "model.txt").unlink()
        (copy / "model.txt").symlink_to(outside)
    elif damage == "fifo":
        os.mkfifo(copy / "pipe")
    else:
        (copy / "manifest.json").unlink()
    with pytest.raises(
        artifact.ArtifactError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        artifact.load(copy)


def test_store_promote_and_history(lightgbm_export):
    params, _, _, folder = lightgbm_export
    for version in (1, 2):
        registry.store_version(folder, params, version)
    with pytest.raises(artifact.ArtifactError, match="no champion yet"):
        artifact.load(registry.model_root(params))
    registry.set_alias(params, "champion", 1, "first")
    registry.set_alias(params, "champion", 2, "second")
    assert registry.current(params) == 2 and registry.previous_champion(params) == 1
    registry.set_alias(params, "champion", 1, "undo", action="rollback")
    assert registry.current(params) == 1 and registry.previous_champion(params) is None
    assert artifact.load(registry.model_root(params)).path.name == "v1"


def test_a_stored_version_is_never_replaced_by_a_different_model(lightgbm_export, tmp_path):
    params, _, _, folder = lightgbm_export
    registry.store_version(folder, params, 7)
    registry.store_version(folder, params, 7)  # the same model again: fine
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    (other / artifact.WORDING_FILE).write_text('{"wording": {}, "top_reasons": 2}')
    artifact.write_manifest(other)
    with pytest.raises(artifact.ArtifactError, match="registry disagree"):
        registry.store_version(other, params, 7)


def test_a_champion_link_to_a_missing_version_says_so(tmp_path):
    root = tmp_path / "leadscore"
    root.mkdir()
    (root / "champion").symlink_to("v7", target_is_directory=True)
    with pytest.raises(artifact.ArtifactError, match="points at v7, which is missing"):
        artifact.load(root)


@pytest.mark.parametrize("approval", [False, True])
def test_the_first_version_is_published_once(lightgbm_export, tmp_path, monkeypatch, approval):
    from concurrent.futures import ThreadPoolExecutor

    params, _, _, folder = lightgbm_export
    params = params.model_copy(
        update={
            "export": params.export.model_copy(update={"dir": str(tmp_path)}),
            "retrain": params.retrain.model_copy(update={"require_approval": approval}),
        }
    )
    monkeypatch.setattr(registry, "set_registry_alias", lambda *_: None)
    monkeypatch.setattr(registry, "delete_registry_alias", lambda *_: None)
    for version in (1, 2):
        registry.store_version(folder, params, version)
    # Two first runs finishing at once: one version is published, the other waits for retrain.
    with ThreadPoolExecutor(2) as pool:
        published = list(pool.map(lambda v: registry.adopt_first(params, v), (1, 2)))
    alias = "candidate" if approval else "champion"
    assert sorted(published, key=str) == [None, alias]
    assert [(h["alias"], h["action"]) for h in registry.history(params)] == [
        (alias, "first version")
    ]
    assert registry.adopt_first(params, 2) is None
    assert registry.current(params, alias) == published.index(alias) + 1
