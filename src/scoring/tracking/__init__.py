"""tracking: MLflow at the edge. Runs and their metrics (runs), the model registry with its
champion and versions (registry), the MLflow pyfunc that serves an artifact (pyfunc, executed
by MLflow, never imported by the package).

May import: report, model, audit, runtime, data, io, core.
"""
