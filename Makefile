# Two entry points: `make run` materialises the whole pipeline, `make test` runs the test suite.
# Both create the virtual environment from the lock file when it is missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DO_NOT_TRACK := 1
export DAGSTER_DISABLE_TELEMETRY := 1

.PHONY: run test bench install clean lock site

site: $(SITE)

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# The release page's shared folder: DuckDB-WASM and the page's script, from the npm lock file.
SITE := site/.built

$(SITE): site/package-lock.json site/build.mjs site/src/*
	cd site && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build
	touch $(SITE)

run: $(STAMP) $(SITE)
	$(BIN)/flows run

test: $(STAMP) $(SITE)
	$(BIN)/python -m pytest -n 2  # two workers: the machine has two cores

# The national benchmark (not part of the tests): national-size inputs, two runs, one table of figures.
bench: $(STAMP) $(SITE)
	$(BIN)/python benchmarks/national.py

# Re-resolve the pinned dependencies (needs the registry); commit the result.
lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra test -o requirements.lock --python-version 3.11

clean:
	rm -rf $(VENV) .flows_cache target dbt_project/target dbt_project/logs site/node_modules site/dist
