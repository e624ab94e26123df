# Build and test environment. Everything is installed by these rules (CI starts from python3, pip,
# make, git and curl only): uv comes from a bootstrap venv, the tools from requirements/*.txt (pinned),
# the hosts from pyproject.toml's [dependency-groups].
#
#   make venv        .venv: publish-plugins (editable) + test, lint and docs tools
#   make hosts       .venvs/{hatch,pdm,poetry}: each host + publish-plugins (editable), for e2e tests
#   make hosts-min   .venvs/min-{hatch,pdm,poetry}: the lowest host versions the project declares
#   make lint        ruff check, ruff format --check, mypy
#   make lint-hosts  mypy over each host front end, against its host's venv
#   make docs        mkdocs build --strict (when mkdocs.yml exists)
#   make test        lint + docs + slow tests + fast tests, with coverage (what CI runs)
#   make coverage    slow + fast tests with branch coverage of publish_plugins; fails under the floor
#   make test-fast   tests not marked slow, on 2 workers
#   make test-slow   tests marked slow
#   make test-min    e2e tests against the minimum host versions
#   make test-dist   build the sdist and wheel, check them, test each installed in a fresh venv
#   make demo        publish / re-publish / conflict against a local pypiserver
#   make bench       benchmarks
#   make clean       remove every environment and build output

PYTHON ?= python3
UV_VERSION := 0.13.8
BOOT := .venvs/boot
UV := $(BOOT)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
TOOL_REQUIREMENTS := requirements/test.txt requirements/lint.txt requirements/docs.txt
HOSTS := hatch pdm poetry
HOST_STAMPS := $(foreach h,$(HOSTS),.venvs/$(h)/.stamp)
MIN_HOST_STAMPS := $(foreach h,$(HOSTS),.venvs/min-$(h)/.stamp)
# Extra pytest arguments for test-fast and test-slow, e.g. `make test-fast PYTEST_ARGS="-k pdm -x"`.
PYTEST_ARGS ?=
# A hanging test (a stalled connection, a server that never answers) fails instead of blocking CI.
FAST_TIMEOUT ?= 300
SLOW_TIMEOUT ?= 1800
PYTEST_WORKERS ?= 2
LINT_PATHS := $(wildcard src tests benchmarks scripts)
FORMAT_PATHS := $(wildcard src tests scripts)

# uv must never fetch an interpreter: the environments use the machine's python3.
export UV_PYTHON_DOWNLOADS := never

.DEFAULT_GOAL := help
.PHONY: help venv hosts hosts-min lint lint-hosts docs test coverage test-fast test-slow test-min test-dist \
	demo bench clean

help:
	@sed -n 's/^#   //p' Makefile

$(UV):
	$(PYTHON) -m venv $(BOOT)
	$(BOOT)/bin/pip install -q uv==$(UV_VERSION)

# The stamp is newer than its inputs once an install succeeded: `make venv` is then a no-op.
$(VENV)/.stamp: pyproject.toml $(TOOL_REQUIREMENTS) | $(UV)
	$(UV) venv -q --allow-existing --python $(PYTHON) $(VENV)
	VIRTUAL_ENV=$(VENV) $(UV) pip install -q -e . $(addprefix -r ,$(TOOL_REQUIREMENTS))
	touch $@

venv: $(VENV)/.stamp

# One venv per host (and per minimum host): .venvs/NAME from the dependency group host-NAME.
.venvs/%/.stamp: pyproject.toml | $(UV)
	$(UV) venv -q --allow-existing --python $(PYTHON) .venvs/$*
	VIRTUAL_ENV=.venvs/$* $(UV) pip install -q -e . --group host-$*
	touch $@

hosts: $(HOST_STAMPS)

hosts-min: $(MIN_HOST_STAMPS)

lint: venv
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(FORMAT_PATHS)
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy tests/support scripts

# The host front ends are typed against their host, so each is checked with its host's venv (pyproject's
# [tool.mypy] leaves them out of the main run); one cache per host, as their dependencies differ.
lint-hosts: venv hosts
	@set -e; for host in $(HOSTS); do \
		command="$(VENV)/bin/mypy --python-executable .venvs/$$host/bin/python --cache-dir .mypy_cache/$$host"; \
		echo "$$command src/publish_plugins/frontends/$${host}_*.py"; \
		$$command src/publish_plugins/frontends/$${host}_*.py; \
	done

docs: venv
	@if [ -f mkdocs.yml ]; then \
		echo "$(VENV)/bin/mkdocs build --strict"; $(VENV)/bin/mkdocs build --strict; \
	else \
		echo "mkdocs.yml not found: no docs to build"; \
	fi

# Slow tests run before the fast ones so that the last summary line is the full fast run's.
test: venv hosts
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory lint-hosts
	$(MAKE) --no-print-directory docs
	$(MAKE) --no-print-directory coverage

# Branch coverage ([tool.coverage] in pyproject.toml): the slow run starts a fresh .coverage (no report,
# no floor), the fast run adds its workers' data (pytest-cov combines them), then prints the report before
# pytest's summary line and fails under fail_under. A failing test fails the run as without coverage.
coverage: venv hosts
	$(MAKE) --no-print-directory test-slow PYTEST_ARGS="--cov --cov-report= --cov-fail-under=0 $(PYTEST_ARGS)"
	$(MAKE) --no-print-directory test-fast PYTEST_ARGS="--cov --cov-append $(PYTEST_ARGS)"

# pytest exits 5 when it collects no test: that fails here, as it should.
test-fast: venv hosts
	$(PY) -m pytest -n $(PYTEST_WORKERS) -m "not slow" --timeout $(FAST_TIMEOUT) $(PYTEST_ARGS)

# Exit 5 (no slow test collected) is not a failure here: the fast run above always runs tests.
test-slow: venv hosts
	@status=0; $(PY) -m pytest -m slow --timeout $(SLOW_TIMEOUT) $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "no slow tests collected"; status=0; fi; exit $$status

test-min: venv hosts-min
	PUBLISH_PLUGINS_HOST_VENVS=.venvs/min- \
		$(PY) -m pytest -n $(PYTEST_WORKERS) -m "e2e and not slow" --timeout $(FAST_TIMEOUT) tests/e2e

# The sdist and the wheel as a user installs them (scripts/dist_check.py): contents and metadata checked,
# each installed into a fresh venv under build/dist-test/ (no editable checkout) to run `safe-publish
# --version`, the unit tests, the standalone command's e2e tests and the demo.
test-dist: venv
	$(PY) scripts/dist_check.py --uv $(UV) --python $(PYTHON) --workers $(PYTEST_WORKERS)

demo: venv
	$(PY) scripts/demo.py

bench: venv hosts
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .venvs build dist site .demo .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.* htmlcov
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
