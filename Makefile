# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## run: install, start the embedded database, migrate, load the demo once, serve on 127.0.0.1:8000
run: $(STAMP)
	$(BIN)/belonging serve --demo --host 127.0.0.1 --port 8000

## test: install, then the whole test suite against a real (embedded) PostgreSQL
test: $(STAMP)
	./scripts/ensure-chromium
	$(BIN)/python -m pytest

## lint: ruff over everything, mypy over the installed names (belonging.service, .matching, .graph)
lint: $(STAMP)
	$(BIN)/ruff check service matching graph tests bench
	PYTHON=$(BIN)/python ./scripts/typecheck

bench: $(STAMP)
	$(BIN)/python bench/import_speed.py

clean:
	rm -rf $(VENV) .pytest_cache
