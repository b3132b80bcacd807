"""runtime: scoring in production, and nothing else. Loads and verifies an exported artifact,
computes features as training did, and returns one output row per input row.

May import: data, io, core. Never model, report, audit, tracking, jobs, spark or cli, nor
shap, scikit-learn, mlflow, papermill, matplotlib, plotly, jupyter or pyspark: a scoring
environment installs `pip install '.[serve]'` and nothing more (a test proves it).
"""

from scoring.runtime.api import score
from scoring.runtime.batch import ScoreSummary, score_file
from scoring.runtime.inputs import ScoringInputError

__all__ = ["ScoreSummary", "ScoringInputError", "score", "score_file"]
