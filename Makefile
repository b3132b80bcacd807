# leadscore: the front door. `make run` and `make test` set everything up on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PARAMS ?= params.yaml

.PHONY: help setup run retrain score audit data report lab test test-fast lint format bench bench-real clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[workbench,dev,spark]'
	touch $(STAMP)

setup: $(STAMP)  ## Create .venv and install the project with its dev extras (pinned)

run: $(STAMP)  ## Make the default synthetic data if needed and run the whole pipeline
	$(BIN)/leadscore run --params $(PARAMS)

retrain: $(STAMP)  ## Retrain; promote the challenger only if it passes the gates (schedulers: see README)
	$(BIN)/leadscore retrain --params $(PARAMS)

SCORE_IN ?= data/raw/leads.parquet
SCORE_ACTIVITIES ?= data/raw/activities.parquet
SCORE_OUT ?= reports/scored.csv
score: $(STAMP)  ## Score SCORE_IN (+ SCORE_ACTIVITIES) with the champion into SCORE_OUT
	$(BIN)/leadscore score --params $(PARAMS) --model artifacts/leadscore \
		--input $(SCORE_IN) --activities $(SCORE_ACTIVITIES) --output $(SCORE_OUT)

audit: $(STAMP)  ## Run the funnel audit only
	$(BIN)/leadscore audit --params $(PARAMS)

data: $(STAMP)  ## (Re)generate the default synthetic data into data/raw/
	$(BIN)/leadscore generate --params $(PARAMS)

report: $(STAMP)  ## Rebuild reports/latest/report.html (the marketing-ops report)
	$(BIN)/leadscore report --params $(PARAMS)

lab: $(STAMP)  ## Open JupyterLab on the notebooks with the project's kernel
	$(BIN)/jupyter lab notebooks/

# Tests run on every core (pytest-xdist); -n follows the machine.
TEST_WORKERS ?= auto
test: lint  ## Lint, then every test (notebooks, Spark, whole runs) in parallel: what CI runs
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

test-fast: $(STAMP)  ## Logic and contracts only (no notebooks, Spark or whole runs): the inner loop
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow"

lint: $(STAMP)  ## Ruff lint and format check; import-linter: imports only go down the layers
	$(BIN)/ruff check src tests bench notebooks
	$(BIN)/ruff format --check src tests bench
	cd src && ../$(BIN)/lint-imports --no-cache ../pyproject.toml

format: $(STAMP)  ## Format the code
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench notebooks

bench: $(STAMP)  ## Speed and memory figures (prints them; not part of the tests)
	$(BIN)/python bench/bench_generate.py
	$(BIN)/python bench/bench_train.py
	$(BIN)/python bench/bench_shap.py
	$(BIN)/python bench/bench_score.py
	$(BIN)/python bench/bench_run.py
	$(BIN)/python bench/bench_wide.py --notebooks
	$(BIN)/python bench/bench_scale.py

BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP) pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[workbench,dev,spark,bench]'
	touch $(BENCH_STAMP)

bench-real: $(BENCH_STAMP)  ## leadscore against plain LightGBM and FLAML on real exports (prints)
	$(BIN)/python bench/real_exports.py

clean:  ## Remove generated data, reports and caches (keeps .venv)
	rm -rf reports data/raw/*.parquet data/raw/*.csv data/raw/*.json .pytest_cache .ruff_cache
	@echo "kept mlruns/ and artifacts/ (the model registry and published models)"
