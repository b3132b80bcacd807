"""report: what people read. The marketing-ops report, the notebooks' plots and tables, the
model card.

May import: model, audit, runtime, data, io, core.
"""
