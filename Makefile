# Kaiku: `make run` serves the app with demo data; `make test` runs every check.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck pytest bench messages clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Kaiku needs $(PYTHON) on PATH (or make PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps make re-installs happen only when a requirements file changes.
$(VENV)/.installed: $(BIN)/python requirements.txt pyproject.toml
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(BIN)/kaiku migrate --no-input
	$(BIN)/kaiku demo --if-empty
	$(BIN)/kaiku serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy kaiku tests bench

pytest: $(VENV)/.installed-dev
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# make bench ARGS="ingestion dispatch -o ingestion.seconds=20" (names, --quick, -o settings)
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench $(ARGS)

# Re-extract and compile translations (needs GNU gettext). The compiled .mo
# files are committed so that `make run` works without gettext.
messages: $(VENV)/.installed
	cd kaiku && ../$(BIN)/kaiku makemessages -l fi -l et --no-obsolete --ignore='static/kaiku/vendor/*' --ignore='*/eval/*'
	cd kaiku && ../$(BIN)/kaiku compilemessages

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
