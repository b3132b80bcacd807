"""data: inputs as the data contract defines them. The leads-and-activities contract
(contract), flat CRM exports (flat), point-in-time features (features, feature_sql, in DuckDB
or Spark through spark_session) and the synthetic CRM (synth).

May import: io, core. pyspark only inside spark_session's functions (optional).
"""
