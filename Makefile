# Two commands set everything up on a fresh machine (see README):
#   make demo   — set up if needed, then scripts/demo: deploy the example project to sandbox and
#                 staging, run its demo agent in each, show their status
#   make test   — set up if needed, run lint, types and the whole test suite (real Pulumi engine),
#                 then the store-touching suites again on PostgreSQL (team mode)
#   make test-fast — the tests that start no process (no engine, CLI, git, script or PostgreSQL;
#                 tests/conftest.py fails a test that starts one unmarked): seconds
#   make docs   — the documentation site (docs/, mkdocs.yml) into site/, strict and offline; the
#                 strict build is also a test (tests/engine/test_docs_site.py), so `make test` runs it
PYTHON ?= python3
VENV := .venv/bin
TEAM_SUITES := tests/access tests/runtime tests/commands tests/controlplane tests/resources tests/deploy \
               tests/serve tests/console

.PHONY: setup demo test test-fast lint docs bench clean-state

setup:
	@$(PYTHON) scripts/setup

demo: setup
	@scripts/demo

lint: setup
	$(VENV)/ruff check flexor_iac tests bench scripts/setup scripts/docs_hooks.py
	$(VENV)/mypy

# Then the store-touching suites again in team mode, on a PostgreSQL the tests start themselves
# (`--store postgresql`), and agents run end to end on it.
test: lint
	$(VENV)/python -m pytest
	$(VENV)/python -m pytest --store postgresql -m "not engine" -q -n 2 $(TEAM_SUITES)
	$(VENV)/python -m pytest --store postgresql -q tests/engine/test_runtime.py

# One xdist worker per core; the tests' temp dirs in memory (/dev/shm where there is one): their
# SQLite control planes sync every commit, which on a disk is most of the suite's time.
test-fast: setup
	base=$$(mktemp -d -p /dev/shm flexor-tests.XXXXXX 2>/dev/null || mktemp -d); \
	$(VENV)/python -m pytest -m "not engine and not postgres" -q -n 2 --basetemp="$$base"; \
	status=$$?; rm -rf "$$base"; exit $$status

# Open site/index.html in a browser: no server needed, nothing fetched from the network.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/mkdocs build --strict --site-dir site

bench: setup
	$(VENV)/python -m bench.validate_speed

clean-state:
	rm -rf .flexor
