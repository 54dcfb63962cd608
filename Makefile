# The two commands: `make run` (the example study end to end) and `make test` (the test suite).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: run test ui install install-test lint clean

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

test: install-test $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m pytest

ui: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/evaluation-pipeline register-waves $(if $(STUDY),--study $(STUDY),)
	$(BIN)/dagster dev -h 127.0.0.1 -w workspace.yaml

lint: install-test
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check evaluation_pipeline assets tests

clean:
	rm -rf $(VENV) .dagster_home examples/*/output
