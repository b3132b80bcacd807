"""Published models: stored versions, aliases and their history, mirrored to the MLflow
registry. Local layout, one folder per registered version, and links that move atomically:

    artifacts/<model_name>/v<N>/        a complete, verified artifact (never changed again)
    artifacts/<model_name>/champion  -> v<N>   what `leadscore score --model artifacts/<name>` uses
    artifacts/<model_name>/candidate -> v<M>   awaiting approval (retrain.require_approval)
    artifacts/<model_name>/history.jsonl       every promotion and rollback, for rollback

The MLflow registry holds the same versions (pyfunc, models from code) with the same aliases.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path
from unittest import mock

from filelock import FileLock

from scoring.core.config import Params
from scoring.io.files import point_link
from scoring.runtime import artifact
from scoring.tracking.runs import RUN_TAG, _client, already_exists, run_for, tracking_uri


def model_root(params: Params) -> Path:
    """artifacts/<model_name>."""
    return Path(params.export.dir) / params.export.model_name


def store_version(source: Path | str, params: Params, version: int | str) -> Path:
    """Copy a complete artifact to artifacts/<model>/v<version> (write beside, then rename, so
    a reader never sees half a version); an existing identical version is kept."""
    source = Path(source)
    artifact.verify(source)
    root = model_root(params)
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"v{version}"
    if target.exists():
        stored = artifact.verify(target)["files"]
        if stored != artifact.verify(source)["files"]:
            raise artifact.ArtifactError(
                f"{target} already holds a different model than version {version} of the "
                "registry: artifacts/ and the MLflow registry disagree (was mlruns/ reset?). "
                f"Move {root} aside or point mlflow.tracking_uri at the registry it came from"
            )
        return target
    staging = root / f".v{version}-staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        shutil.copytree(source, staging)
        artifact.verify(staging)
        os.replace(staging, target)
    except BaseException:  # killed or failed midway: no half copy left behind
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def current(params: Params, alias: str = "champion") -> int | None:
    """The version an alias points to locally, or None."""
    link = model_root(params) / alias
    if not link.is_symlink():
        return None
    return int(os.readlink(link).removeprefix("v"))


def set_alias(
    params: Params, alias: str, version: int, reason: str, action: str = "promote"
) -> None:
    """Point artifacts/<model>/<alias> at v<version> atomically and record it in history."""
    root = model_root(params)
    target = root / f"v{version}"
    artifact.verify(target)
    # Two jobs moving aliases at once queue here: each history line matches the link it set.
    with _lock(root, "aliases"):
        _set_alias_locked(root, alias, target.name, version, reason, action)


def _lock(root: Path, name: str) -> FileLock:
    """A lock file beside the versions (filelock: portable, released if the process dies)."""
    return FileLock(root / f".{name}.lock", timeout=LOCK_TIMEOUT_S)


LOCK_TIMEOUT_S = 120


def _set_alias_locked(
    root: Path, alias: str, name: str, version: int, reason: str, action: str
) -> None:
    link = root / alias
    previous = int(os.readlink(link).removeprefix("v")) if link.is_symlink() else None
    point_link(link, name)
    with open(root / "history.jsonl", "a", encoding="utf-8") as handle:
        handle.write(
            json.dumps(
                {
                    "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "alias": alias,
                    "action": action,
                    "version": version,
                    "previous": previous,
                    "reason": reason,
                }
            )
            + "\n"
        )


def clear_alias(params: Params, alias: str) -> None:
    """Remove a local alias link (e.g. candidate after its promotion)."""
    link = model_root(params) / alias
    if link.is_symlink():
        link.unlink()


def history(params: Params) -> list[dict]:
    """Promotions and rollbacks, oldest first."""
    path = model_root(params) / "history.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def champion_stack(params: Params) -> list[int]:
    """Champions in order, as promotions push and rollbacks pop them."""
    stack: list[int] = []
    for entry in history(params):
        if entry["alias"] != "champion":
            continue
        if entry.get("action") == "rollback":
            if stack:
                stack.pop()
        else:
            stack.append(int(entry["version"]))
    return stack


def previous_champion(params: Params) -> int | None:
    """The champion before the current one (what rollback restores)."""
    stack = champion_stack(params)
    return stack[-2] if len(stack) >= 2 else None


# MLflow executes pyfunc.py on load; the package (src/scoring) ships beside it as code.
MODEL_FILE = Path(__file__).resolve().parent / "pyfunc.py"
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def serve_requirements() -> list[str]:
    """What `mlflow models serve` installs: the lean runtime's own requirements (leadscore's
    base dependencies, none of its extras) plus MLflow, pinned at the versions installed here,
    the ones the artifact was tested with."""
    names = [
        re.split(r"[ ;<>=!~\[]", requirement, maxsplit=1)[0]
        for requirement in requires("leadscore") or []
        if "extra ==" not in requirement
    ]
    pins = []
    for name in [*names, "mlflow"]:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            pins.append(name)
    return pins


@contextlib.contextmanager
def _global_tracking_uri(uri: str) -> Iterator[None]:
    """MLflow's global tracking URI for a block (Model.log and the registry's models:/ lookup
    use it), then exactly as before, MLFLOW_TRACKING_URI included: set_tracking_uri also writes
    that variable, which would override every later run's params in this process."""
    from mlflow.tracking._tracking_service import utils

    before, environment = utils._tracking_uri, os.environ.get("MLFLOW_TRACKING_URI")
    utils.set_tracking_uri(uri)
    try:
        yield
    finally:
        utils.set_tracking_uri(before)
        if environment is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = environment


@contextlib.contextmanager
def _quiet(logger: str, level: int = logging.ERROR) -> Iterator[None]:
    """Raise one library logger's level for the duration of a call."""
    log = logging.getLogger(logger)
    before = log.level
    log.setLevel(level)
    try:
        yield
    finally:
        log.setLevel(before)


def signature(loaded: artifact.Artifact):
    """The MLflow signature of a served artifact, in the CRM's language (runtime.serving):
    the lead's fields and its activities (or a flat export's columns) in, the scores out, and
    the parameters `reasons` and `as_of` (ISO 8601; empty: the latest time in the request)."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import (
        Array,
        ColSpec,
        Object,
        ParamSchema,
        ParamSpec,
        Property,
        Schema,
    )

    from scoring.runtime import serving

    event = Object(
        [
            Property(name, "string", required=name in serving.EVENT_REQUIRED)
            for name in serving.EVENT_FIELDS
        ]
    )
    inputs = [
        ColSpec(
            Array(event) if c["type"] == "activities" else c["type"],
            c["name"],
            required=c["required"],
        )
        for c in serving.input_columns(loaded)
    ]
    outputs = [ColSpec(c["type"], c["name"]) for c in serving.output_columns(loaded)]
    params = ParamSchema([ParamSpec("reasons", "boolean", True), ParamSpec("as_of", "string", "")])
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs), params=params)


def pyfunc_arguments(artifact_dir: Path | str) -> dict:
    """What MLflow saves of an artifact: the pyfunc (models from code), the artifact folder,
    the package as code, the lean runtime's pinned requirements, the signature and the example."""
    from scoring.runtime import serving

    loaded = artifact.load(artifact_dir)
    example, example_params = serving.input_example(loaded)
    return {
        "python_model": str(MODEL_FILE),
        "artifacts": {"leadscore": str(artifact_dir)},
        "code_paths": [str(PACKAGE_DIR)],
        "pip_requirements": serve_requirements(),
        "signature": signature(loaded),
        # Stored for people and serving platforms; MLflow also scores it once to check it.
        "input_example": (example, example_params),
    }


def save_pyfunc(artifact_dir: Path | str, path: Path | str) -> Path:
    """The registered MLflow model, saved to a folder instead (for tests and offline copies)."""
    import mlflow.pyfunc

    with _quiet("mlflow.pyfunc"), _quiet("mlflow.models.model"):
        mlflow.pyfunc.save_model(path=str(path), **pyfunc_arguments(artifact_dir))
    return Path(path)


def register_artifact(params: Params, run_id: str, artifact_dir: Path | str) -> int:
    """Log the artifact as an MLflow pyfunc (models from code, the package as code) on the
    run, a LoggedModel with its signature and input example, and register it as a new version
    of export.model_name; returns the version number."""

    import mlflow
    import mlflow.pyfunc

    client = _client(params.mlflow)
    mlflow_run = run_for(params, run_id)
    name = params.export.model_name
    if client.search_registered_models(filter_string=f"name = '{name}'") == []:
        from mlflow.exceptions import MlflowException

        try:
            client.create_registered_model(name, description="leadscore lead-scoring models")
        except MlflowException as err:  # registered by a run that started at the same time
            if not already_exists(err):
                raise
    with _global_tracking_uri(tracking_uri(params.mlflow)):
        # The LoggedModel, created here in its run's experiment (MLflow would pick the active
        # experiment) and linked to the pipeline's run without making it the active run.
        logged = client.create_logged_model(
            experiment_id=client.get_run(mlflow_run).info.experiment_id,
            name="model",
            source_run_id=mlflow_run,
            tags={RUN_TAG: run_id, "mlflow.loggedModel.flavor": "pyfunc.ModelFromCode"},
        )
        # MLflow would load and run the model once more to check the example (1.3 s in a
        # fresh process); the export stage has checked the artifact against the run to 1e-9
        # and the tests serve the example, so that check is skipped.
        skip_check = mock.patch("mlflow.models.utils._validate_serving_input", lambda **_: None)
        with _quiet("mlflow.pyfunc"), _quiet("mlflow.models.model"), skip_check:
            # What mlflow.pyfunc.log_model calls, with the model made above.
            info = mlflow.models.Model.log(
                artifact_path=None,
                name="model",
                flavor=mlflow.pyfunc,
                run_id=mlflow_run,
                model_id=logged.model_id,
                flavor_name="pyfunc.ModelFromCode",
                **pyfunc_arguments(artifact_dir),
            )
        # The registry resolves models:/<model_id> through the global tracking URI.
        version = client.create_model_version(
            name, info.model_uri, run_id=mlflow_run, tags={RUN_TAG: run_id}, model_id=info.model_id
        )
    return int(version.version)


def set_registry_alias(params: Params, alias: str, version: int) -> None:
    """Point a registry alias (champion, candidate) at a version."""
    _client(params.mlflow).set_registered_model_alias(params.export.model_name, alias, version)


def delete_registry_alias(params: Params, alias: str) -> None:
    """Remove a registry alias if it is set."""
    from mlflow.exceptions import MlflowException

    with contextlib.suppress(MlflowException):
        _client(params.mlflow).delete_registered_model_alias(params.export.model_name, alias)


def registered_versions(params: Params) -> list[int]:
    """Version numbers registered under export.model_name."""
    found = _client(params.mlflow).search_model_versions(f"name = '{params.export.model_name}'")
    return sorted(int(v.version) for v in found)


def download_model(params: Params, uri: str, destination: Path) -> Path:
    """Download models:/<name>/<version> or models:/<name>@<alias> and return the leadscore
    artifact folder inside it."""
    import mlflow.artifacts

    match = re.fullmatch(r"models:/([^/@]+)(?:/(\d+)|@([\w-]+))", uri)
    if not match:
        raise ValueError(f"{uri}: expected models:/<name>/<version> or models:/<name>@<alias>")
    name, version, alias = match.groups()
    client = _client(params.mlflow)
    if alias:
        version = client.get_model_version_by_alias(name, alias).version
    source = client.get_model_version_download_uri(name, version)
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=source, dst_path=str(destination), tracking_uri=tracking_uri(params.mlflow)
    )
    found = sorted(Path(local).rglob(artifact.MANIFEST))
    if not found:
        raise FileNotFoundError(f"{uri}: no leadscore artifact (manifest.json) in the model")
    return found[0].parent


def promote(params: Params, version: int, reason: str, action: str = "promote") -> None:
    """Make a stored (or registered) version the champion: registry alias and local link."""
    root = model_root(params)
    folder = root / f"v{version}"
    if not folder.exists():
        registered = registered_versions(params)
        if version not in registered:
            raise ValueError(
                f"version {version} is not a registered version of {params.export.model_name} "
                f"(registered: {', '.join(map(str, registered)) or 'none'})"
            )
        with tempfile.TemporaryDirectory() as tmp:
            uri = f"models:/{params.export.model_name}/{version}"
            downloaded = download_model(params, uri, Path(tmp))
            store_version(downloaded, params, version)
    artifact.verify(folder)
    set_registry_alias(params, "champion", version)
    set_alias(params, "champion", version, reason, action)
    if current(params, "candidate") == version:
        clear_alias(params, "candidate")
        delete_registry_alias(params, "candidate")


FIRST_REASON = "first version: there was no champion (later versions follow the retrain gates)"


def adopt_first(params: Params, version: int) -> str | None:
    """Publish the first version of a model: it becomes the champion (the candidate when
    retrain.require_approval) if no champion or candidate exists yet, so that scoring and
    serving work right after the first run. Returns the alias set, or None when a model was
    already published. Two first runs at once: the first to take the lock wins."""
    root = model_root(params)
    root.mkdir(parents=True, exist_ok=True)
    with _lock(root, "first"):
        if current(params, "champion") is not None or current(params, "candidate") is not None:
            return None
        if params.retrain.require_approval:
            set_registry_alias(params, "candidate", version)
            set_alias(params, "candidate", version, FIRST_REASON, action="first version")
            return "candidate"
        promote(params, version, FIRST_REASON, action="first version")
        return "champion"


def rollback(params: Params) -> int:
    """Restore the champion before the current one; returns its version."""
    previous = previous_champion(params)
    if previous is None:
        raise ValueError(
            f"no previous champion to roll back to (see {model_root(params) / 'history.jsonl'})"
        )
    promote(params, previous, f"rollback from v{current(params)}", action="rollback")
    return previous
