# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
TEST_STAMP := $(VENV)/.test-installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
PIP_FLAGS := --quiet --disable-pip-version-check
# Test processes: a whole module stays on one process (module fixtures such as the 75k corpus
# are built once), taken in the order tests/conftest.py gives (longest first; xdist's default
# reorder by test count sent the 3-test 75k-corpus module out last). Three processes on two
# cores, because many tests wait on servers and subprocesses: pytest 10:40 against two's 11:23
# (the 75k module, ~5 minutes alone, is the critical path with three).
PYTEST_WORKERS ?= -n 3 --dist loadfile --no-loadscope-reorder

.PHONY: install run test test-deps bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_FLAGS) --upgrade pip
	$(BIN)/pip install $(PIP_FLAGS) -c constraints.txt -e .
	@rm -f $(VENV)/.installed-*; touch $@

run: install
	$(BIN)/paperboard serve --load-demo-if-empty

test-deps: $(TEST_STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install $(PIP_FLAGS) -c constraints.txt -e '.[test,ray]'
	@rm -f $(VENV)/.test-installed-*; touch $@

# The whole suite runs on SQLite and, on a throwaway PostgreSQL + pgvector cluster that this
# target installs (Debian packages) and starts on a free port, on PostgreSQL too.
test: test-deps
	@bash scripts/ensure-chromium.sh
	@set -e; \
	if [ -z "$$PAPERBOARD_TEST_POSTGRES_URL" ]; then \
	  if out=$$(bash scripts/pg-test-cluster.sh start); then \
	    eval "$$out"; trap 'bash scripts/pg-test-cluster.sh stop "$$PAPERBOARD_PG_CLUSTER_DIR"' EXIT; \
	  else echo "make test: PostgreSQL could not be started, testing SQLite only" >&2; fi; \
	fi; \
	$(BIN)/pytest -q $(PYTEST_WORKERS) || { status=$$?; \
	  if [ -f "$$PAPERBOARD_PG_CLUSTER_DIR/server.log" ]; then \
	    echo "make test: the last lines of the test cluster's server.log:" >&2; \
	    tail -n 40 "$$PAPERBOARD_PG_CLUSTER_DIR/server.log" >&2; fi; exit $$status; }

bench: test-deps
	$(BIN)/pip install $(PIP_FLAGS) -c constraints.txt -e '.[test,ray,map-bench]'
	@set -e; for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script; done

lint: test-deps
	$(BIN)/ruff check paperboard tests bench scripts

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache test-artifacts
