"""MLflow pyfunc for a leadscore artifact, logged as "models from code" (no pickle).

MLflow executes this file when it loads the model, so it ends with `set_model`; the package
never imports it. The artifact folder is attached as the MLflow artifact "leadscore" and is
verified (sha256 manifest) when the model loads.
"""

from __future__ import annotations

import mlflow.pyfunc
import pandas as pd
from mlflow.models import set_model


class LeadScoreModel(mlflow.pyfunc.PythonModel):
    """Scores a DataFrame with the artifact: probability, score, grade, is_mql, reasons."""

    def load_context(self, context) -> None:
        from scoring.runtime import artifact

        self.artifact = artifact.load(context.artifacts["leadscore"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from scoring.runtime import batch as score

        reasons = bool((params or {}).get("reasons", True))
        return score.score_frame(self.artifact, model_input, reasons=reasons)


set_model(LeadScoreModel())
