# Two commands set everything up on a fresh machine (see README):
#   make demo   — set up if needed, then scripts/demo: deploy the example project to sandbox and
#                 staging, run its demo agent in each, show their status
#   make test   — set up if needed, run lint, types and the whole test suite (real Pulumi engine)
#   make test-fast — the tests that start no process (no engine, CLI, git or scripts): seconds
PYTHON ?= python3
VENV := .venv/bin

.PHONY: setup demo test test-fast lint bench clean-state

setup:
	@$(PYTHON) scripts/setup

demo: setup
	@scripts/demo

lint: setup
	$(VENV)/ruff check flexor_iac tests bench scripts/setup
	$(VENV)/mypy

test: lint
	$(VENV)/python -m pytest

test-fast: setup
	$(VENV)/python -m pytest -m "not engine" -q -n 2   # pytest-xdist: one worker per core

bench: setup
	$(VENV)/python -m bench.validate_speed

clean-state:
	rm -rf .flexor
