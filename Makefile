# nixos-vmtest. `make test` runs everything that works offline; `make test-vm-quick`
# and `make test-vm` run the flake checks (through the venv's vmtest, or with Nix alone).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VMTEST_ARGS ?=

.PHONY: help venv test lint typecheck pytest nix-parse lint-scripts actionlint \
        test-vm-quick test-vm bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(STAMP) ## Create .venv with the project and its dev tools

test: lint typecheck nix-parse lint-scripts actionlint pytest ## Run every offline check and the test suite

lint: $(STAMP) ## ruff (lint and format check), and the package's layers (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP) ## mypy --strict over the package and its tests
	$(BIN)/mypy driver tests/driver

nix-parse: ## Parse every .nix file with the real nix
	@command -v nix-instantiate >/dev/null || { echo "error: nix is not installed; see README.md (Getting Nix)" >&2; exit 3; }
	git ls-files -co --exclude-standard -z '*.nix' | xargs -0 -n 50 nix-instantiate --parse >/dev/null
	@echo "nix-parse: $$(git ls-files -co --exclude-standard '*.nix' | wc -l) files parse"

lint-scripts: $(STAMP) ## ty, ruff (as nixpkgs' test build), mypy and rules on the VM test scripts
	$(BIN)/vmtest lint-scripts

actionlint: $(STAMP) ## Lint the GitHub workflow
	$(BIN)/actionlint -no-color

pytest: $(STAMP) ## The pytest suite (real nix against fixture flakes)
	$(BIN)/pytest

# Run the main jobs with the venv's vmtest when there is one, else with Nix alone.
VMTEST := $(if $(wildcard $(BIN)/vmtest),$(BIN)/vmtest,nix/run-vmtest.sh)

test-vm-quick: ## Quick tier: analyse the VM configuration, no boot (seconds)
	@$(VMTEST) quick $(VMTEST_ARGS)

test-vm: ## Full tier: build, boot under KVM and test the VM (minutes)
	@$(VMTEST) full $(VMTEST_ARGS)

bench: $(STAMP) ## Start-up, quick-tier overhead and log-parsing benchmarks
	$(BIN)/python bench/run.py

clean: ## Remove the venv and build links
	rm -rf $(VENV) result result-*
