"""audit: the funnel audit (stage conversion, response times, win rates, data quality), for
leads-and-activities data and for flat exports.

May import: data, io, core.
"""
