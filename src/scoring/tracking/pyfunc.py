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
    """Scores leads in the CRM's language (scoring.runtime.serving): the lead's fields and its
    `activities` (or a flat export's columns) in; id, probability, score, grade, is_mql,
    reasons and error out, one row per input row."""

    def load_context(self, context) -> None:
        from scoring.runtime import artifact

        self.artifact = artifact.load(context.artifacts["leadscore"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from scoring.runtime import serving

        params = params or {}
        return serving.score_request(
            self.artifact,
            model_input,
            reasons=bool(params.get("reasons", True)),
            as_of=params.get("as_of") or None,
        )


set_model(LeadScoreModel())
