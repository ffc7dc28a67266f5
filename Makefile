# One entry point for people and CI. Every target first makes the machine ready (idempotent).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test test-fast lint demo emulator django-suite bench drills

setup:
	@bash scripts/services.sh

# The whole suite on every supported Django (noxfile.py: one leg per Django, each on its own
# Python and virtualenv under .nox/). NOX_ARGS e.g. '-s "tests(dj61)"' (one leg); PYTEST_ARGS
# go to pytest in each leg.
test: setup
	$(VENV)/bin/nox $(NOX_ARGS) $(if $(PYTEST_ARGS),-- $(PYTEST_ARGS))

# The suite on .venv's Django only: the quick loop while developing.
test-fast: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

demo: setup
	$(PY) scripts/demo.py $(DEMO_ARGS)

# Every bench/*.py script; rewrites the summary of docs/benchmarks.md and docs/img/backfill.png.
# BENCH_ARGS e.g. "--quick" (smaller workloads) or "backfill verify" (only those scripts).
bench: setup
	@$(PY) -c "import matplotlib" 2>/dev/null || $(VENV)/bin/pip install -q -e ".[test,bench]"
	$(PY) bench/runner.py $(BENCH_ARGS)

# Fault drills: kill -9 during backfill, SingleStore outage under dual write, many tenants,
# an online table rebuild under writers. DRILLS_ARGS e.g. "--only rebuild --rows 1000".
drills: setup
	$(PY) scripts/drills.py $(DRILLS_ARGS)

# The SingleStore emulator in the foreground (Ctrl-C stops it); EMULATOR_ARGS adds flags.
emulator: setup
	$(PY) -m s2emulator $(EMULATOR_ARGS)

# Django's whole applicable suite against SingleStore (the emulator unless S2_TEST_URL is set),
# taking the heavy lock per batch; writes docs/django-suite/<version>-<layout>.json and rewrites
# docs/django-suite.md's tables. SUITE_ARGS e.g. "--layout deployment --resume".
django-suite: setup
	$(PY) -m pip install -q -r scripts/django_suite_requirements.txt
	$(PY) scripts/django_suite.py --lock --render $(SUITE_ARGS)
