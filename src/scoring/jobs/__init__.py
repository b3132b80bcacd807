"""jobs: the stages a run is made of and the commands that chain them. Inputs of a run,
stages (one per notebook), the papermill pipeline, export and the scheduled retrain.

May import: every layer below (tracking, report, audit, model, spark, runtime, data, io,
core); the command line (scoring.cli) sits on top.
"""
