"""model: learning from historic outcomes. Splits, model families and calibration, training,
leakage guards, the rule baseline, evaluation, thresholds, explanations, point rules, and the
draft of the scoring artifact.

May import: runtime, data, io, core.
"""
