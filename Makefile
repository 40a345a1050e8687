# The project's commands. `make demo` and `make test` are the README's two commands; both set
# everything up first (a Python 3.13 virtualenv with pinned dependencies), so a fresh clone needs nothing else.
SHELL := /bin/bash
VENV := .venv
SAMVENV := .venv-sam
CKVVENV := .venv-checkov
PY := $(VENV)/bin/python
PY313 = $(shell scripts/find-python313)

.PHONY: setup sam-setup checkov-setup demo invoke test test-slow test-unit lint checkov build validate bench ci clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements/dev.txt requirements/constraints.txt shared/requirements.txt
	@test -x $(PY) || "$(PY313)" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt -c requirements/constraints.txt
	@scripts/install-chromium >/dev/null
	@touch $@

sam-setup: $(SAMVENV)/.installed

$(SAMVENV)/.installed: requirements/sam.txt
	@test -x $(SAMVENV)/bin/python || "$(PY313)" -m venv $(SAMVENV)
	$(SAMVENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/sam.txt
	@touch $@

checkov-setup: $(CKVVENV)/.installed

$(CKVVENV)/.installed: requirements/checkov.txt
	@test -x $(CKVVENV)/bin/python || "$(PY313)" -m venv $(CKVVENV)
	$(CKVVENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/checkov.txt
	@touch $@

# Security scan of the template; every skip is justified inline in template.yaml (Metadata.checkov).
checkov: checkov-setup
	$(CKVVENV)/bin/checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download

demo: setup
	$(PY) -m local.demo

# One function on one event file, locally: make invoke FN=OperatorFunction EVENT=events/operator.json
invoke: setup
	$(PY) -m local.invoke "$(FN)" "$(EVENT)"

# Tests run in TEST_WORKERS processes (pytest-xdist), each with its own moto server and simulators; a test
# file stays in one process (its module fixtures are started once). docs/performance.md: the two runs.
TEST_WORKERS ?= 2

# The fast run (CI): every test but the `slow` ones, property tests at the `ci` Hypothesis profile.
test: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow" --durations=10 $(PYTEST_ARGS)

# The slow run: the soaks and scale-style tests, and every property test at its full example count.
test-slow: setup
	HYPOTHESIS_PROFILE=full $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "slow or hypothesis" $(PYTEST_ARGS)

test-unit: setup
	$(PY) -m pytest -q tests/unit

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml

# SAM needs no AWS account for these two; dummy credentials stop it from looking for one, and
# python3.13 from its own virtualenv is the interpreter `sam build` builds the layer with.
SAM_ENV = PATH="$(CURDIR)/$(SAMVENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 AWS_ACCESS_KEY_ID=none AWS_SECRET_ACCESS_KEY=none

validate: sam-setup
	$(SAM_ENV) $(SAMVENV)/bin/sam validate --lint --region eu-west-1

# PIP_CONSTRAINT makes SAM's pip resolve the layer to the tested pins; the check proves it did.
build: setup sam-setup
	$(SAM_ENV) PIP_CONSTRAINT="$(CURDIR)/requirements/constraints.txt" $(SAMVENV)/bin/sam build --region eu-west-1
	$(PY) scripts/check-layer-pins

bench: setup
	$(PY) -m bench $(BENCH_ARGS)

ci: lint checkov test validate build

clean:
	rm -rf .aws-sam $(VENV) $(SAMVENV) $(CKVVENV) .pytest_cache .mypy_cache .ruff_cache
