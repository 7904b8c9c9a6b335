# The two commands of the README: `make demo` and `make test`. Each creates .venv if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck imports check bench bench-quick clean

$(STAMP): pyproject.toml plugins/rotation-example-plugin/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet -e plugins/rotation-example-plugin
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m adapters.demo --store sqlite:///demo-rotation.db --fresh

test: $(STAMP)
	$(BIN)/python -m pytest tests plugins/rotation-example-plugin/tests

lint: $(STAMP)
	$(BIN)/ruff check src tests bench plugins
	$(BIN)/ruff format --check src tests bench plugins

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

check: lint typecheck imports test

bench: $(STAMP)
	$(BIN)/python bench/run.py

bench-quick: $(STAMP)
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf $(VENV) build dist src/*.egg-info demo-rotation.db*
