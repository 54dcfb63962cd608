# The two commands: `make run` (the example study end to end) and `make test` (the test suite).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: run test ui install install-test system-deps bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	printf 'telemetry:\n  enabled: false\n' > $@

run: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/evaluation-pipeline run $(if $(STUDY),--study $(STUDY),)

# Debian packages the test suite needs: PostgreSQL (integration test of the Postgres-backed
# instance) and Chromium (rendering the report and profiles). Installed with apt-get when
# missing and running as root (CI); otherwise the missing packages are named.
system-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -q >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing (apt-get install$$missing as root)"; \
	  fi; \
	fi

test: install-test system-deps $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m pytest

ui: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/evaluation-pipeline register-waves $(if $(STUDY),--study $(STUDY),)
	$(BIN)/dagster dev -h 127.0.0.1 -w workspace.yaml

# one pip run for the runtime and the bench dependencies (a second run resolves them again)
$(VENV)/.installed-bench: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $(VENV)/.installed $@

bench: $(VENV)/.installed-bench $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m benchmarks.run --scale $(or $(SCALE),small) $(if $(REPEAT),--repeat $(REPEAT))

lint: install-test
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check evaluation_pipeline assets tests

clean:
	rm -rf $(VENV) .dagster_home examples/*/output
