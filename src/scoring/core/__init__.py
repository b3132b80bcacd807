"""core: what every layer shares. Parameters (config), the bad-input error and exit codes,
business time, statistics and JSON-ready values.

May import: nothing of leadscore's. Third-party: numpy, pandas, pydantic, pyyaml only.
"""
