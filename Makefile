# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-citus install lint lock bench clean

LOCK_OPTIONS := --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url \
	--no-emit-trusted-host --no-emit-find-links

# Dependencies come from the lock file (exact versions, checked against their hashes); the
# project itself is then installed editable on top, without touching them.
$(STAMP): pyproject.toml requirements/test.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/test.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## run: install, start the embedded database, migrate, load the demo once, serve on 127.0.0.1:8000
run: $(STAMP)
	$(BIN)/belonging serve --demo --host 127.0.0.1 --port 8000

## test: install, then the whole test suite against a real (embedded) PostgreSQL
test: $(STAMP)
	./scripts/ensure-chromium
	$(BIN)/python -m pytest --ignore=tests/citus

# The vendored Citus source (no registry ships it); a folder next to the checkout by default.
CITUS_VENDOR ?= ../shared/vendor
# What runs against the cluster (README, "Running on Citus"): the API suite, the races and the
# Citus-only tests. Left out: test_operations and test_workers (they create databases of their
# own; on Citus each would need the extension and the workers; tests/citus/test_replicas.py runs
# two replicas on the cluster) and the suites that never reach the data's layout (input sweeps,
# CLI output, settings, per-process rate limits), which `make test` runs.
CITUS_TESTS ?= tests/service tests/concurrency tests/citus \
	--ignore=tests/service/test_operations.py --ignore=tests/service/test_hostile_input.py \
	--ignore=tests/service/test_startup_secrets.py --ignore=tests/service/test_settings.py \
	--ignore=tests/service/test_rate_limits.py --ignore=tests/concurrency/test_workers.py \
	--ignore=tests/concurrency/test_database_crash.py

## test-citus: install, build Citus if missing (root), start a coordinator and two workers, migrate, test, stop
test-citus: $(STAMP)
	./scripts/ensure-chromium
	CITUS_VENDOR=$(CITUS_VENDOR) ./scripts/citus-cluster test $(CITUS_TESTS)

## lint: ruff over everything, mypy over the installed names (belonging.service, .matching, .graph)
lint: $(STAMP)
	$(BIN)/ruff check service matching graph tests bench
	PYTHON=$(BIN)/python ./scripts/typecheck

## lock: re-resolve requirements/runtime.lock and requirements/test.lock from pyproject.toml
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile $(LOCK_OPTIONS) --output-file requirements/runtime.lock pyproject.toml
	$(BIN)/pip-compile $(LOCK_OPTIONS) --extra test --output-file requirements/test.lock pyproject.toml

bench: $(STAMP)
	$(BIN)/python bench/import_speed.py

clean:
	rm -rf $(VENV) .pytest_cache
