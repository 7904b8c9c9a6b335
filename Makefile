# The two commands of the README: `make demo` and `make test`. Each creates .venv if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The plugin distributions under plugins/, each installed (editable, with its test extra)
# and tested with the project. Listed explicitly so a half-made directory is never picked up.
PLUGINS := rotation-example-plugin rotation-email rotation-hris rotation-webhooks
PLUGIN_PROJECTS := $(foreach p,$(PLUGINS),plugins/$(p)/pyproject.toml)
PLUGIN_TESTS := $(foreach p,$(PLUGINS),plugins/$(p)/tests)

.PHONY: demo test lint typecheck imports check bench bench-quick clean

$(STAMP): pyproject.toml $(PLUGIN_PROJECTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' $(foreach p,$(PLUGINS),-e 'plugins/$(p)[test]')
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rotation --store sqlite:///demo-rotation.db demo --fresh

test: $(STAMP)
	bash scripts/ensure-chromium.sh
	$(BIN)/python -m pytest tests $(PLUGIN_TESTS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench plugins
	$(BIN)/ruff format --check src tests bench plugins

typecheck: $(STAMP)
	$(BIN)/mypy
	for p in $(PLUGINS); do (cd plugins/$$p && ../../$(BIN)/mypy) || exit 1; done

imports: $(STAMP)
	$(BIN)/lint-imports

check: lint typecheck imports test

bench: $(STAMP)
	$(BIN)/python bench/run.py

bench-quick: $(STAMP)
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf $(VENV) build dist src/*.egg-info demo-rotation.db* demo-rotation.html
