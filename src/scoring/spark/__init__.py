"""spark: batch scoring where the leads live, in Spark (`leadscore score --engine spark`),
by the runtime's own code in each partition.

May import: runtime, data, io, core.
"""
