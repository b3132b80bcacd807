"""Build a virtual environment from nothing but a registered model's requirements.txt, load
the model there and score its own input example; compare with leadscore in this environment.
Prints the install time, the packages installed and the largest difference.

Usage: python bench/check_serving_env.py [models:/leadscore@champion] [--keep]
Needs MLFLOW_TRACKING_URI (default sqlite:///mlruns/mlflow.db) and the package index pip
uses here. Exit code 1 if the model cannot be installed, loaded or scored, or disagrees.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, sys
import mlflow.pyfunc, pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[1])
example = json.load(open(sys.argv[2]))
split = example["dataframe_split"]
frame = pd.DataFrame(split["data"], columns=split["columns"])
for spec in model.metadata.get_input_schema().inputs:  # JSON holds times as text
    if str(spec.type).endswith("datetime") and spec.name in frame:
        frame[spec.name] = pd.to_datetime(frame[spec.name])
out = model.predict(frame, params=example.get("params"))
print(json.dumps(out["probability"].tolist()))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="models:/leadscore@champion")
    parser.add_argument("--keep", action="store_true", help="keep the environment's folder")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_TRACKING_URI", "sqlite:///mlruns/mlflow.db")

    import mlflow.artifacts
    import mlflow.pyfunc
    import pandas as pd

    work = Path(tempfile.mkdtemp(prefix="leadscore-serving-env-"))
    try:
        local = Path(mlflow.artifacts.download_artifacts(args.model, dst_path=str(work / "m")))
        requirements = (local / "requirements.txt").read_text().split()
        print(f"{args.model}: requirements.txt lists {len(requirements)}: {' '.join(requirements)}")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
        python = work / "venv" / "bin" / "python"
        install = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", str(local / "requirements.txt")],
            capture_output=True,
            text=True,
        )
        if install.returncode:
            print("pip install failed:", install.stderr[-3000:])
            return 1
        installed = subprocess.run(
            [str(python), "-m", "pip", "freeze"], capture_output=True, text=True, check=True
        ).stdout.split()
        print(f"installed {len(installed)} packages in {time.perf_counter() - started:.0f} s")
        example_file = local / "serving_input_example.json"
        scored = subprocess.run(
            [str(python), "-c", CHILD, str(local), str(example_file)],
            capture_output=True,
            text=True,
            cwd=work,
        )
        if scored.returncode:
            print("scoring in the new environment failed:", scored.stderr[-3000:])
            return 1
        there = json.loads(scored.stdout.strip().splitlines()[-1])
        example = json.loads(example_file.read_text())
        split = example["dataframe_split"]
        frame = pd.DataFrame(split["data"], columns=split["columns"])
        model = mlflow.pyfunc.load_model(str(local))
        for spec in model.metadata.get_input_schema().inputs:
            if str(spec.type).endswith("datetime") and spec.name in frame:
                frame[spec.name] = pd.to_datetime(frame[spec.name])
        here = model.predict(frame, params=example.get("params"))
        difference = max(abs(a - b) for a, b in zip(there, here["probability"], strict=True))
        print(f"probabilities there {there}; here {here['probability'].tolist()}")
        print(f"largest difference {difference:.3g}")
        return 0 if difference <= 1e-9 else 1
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
