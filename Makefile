# Everything a fresh machine needs, from python3 and make alone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := $(BIN)/python demo_site/manage.py

.PHONY: demo test test-fast lint typecheck pytest pytest-postgres pytest-django61 \
	pytest-django61-postgres pytest-django60 bench clean

# Python 3.11 with Django 5.2 LTS: the main venv (lint, types, the demo).
MAIN_DJANGO := 'django>=5.2,<5.3'
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(MAIN_DJANGO) -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(DEMO) migrate --verbosity 0
	$(DEMO) seed_demo
	$(DEMO) profile_view /listings/ --user=1

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Each pass has a temporary directory of its own: passes run two at a time (see test).
BASETEMP ?= /tmp/profilecmds-tests-$(shell id -u)
pytest: $(STAMP)
	mkdir -p $(BASETEMP)
	$(BIN)/pytest --basetemp=$(BASETEMP)/py311

# The same suite against a throwaway PostgreSQL server (the process-level tests drive their own
# SQLite projects, and the import checks use no database, so they run once, above:
# $(PROCESS_TESTS)).
PROCESS_TESTS := --ignore tests/test_demo_site.py --ignore tests/test_other_project_process.py \
	--ignore tests/test_command_process.py --ignore tests/test_reports_files_process.py \
	--ignore tests/test_imports.py --ignore tests/test_readme.py \
	--ignore tests/test_replay_against.py
pytest-postgres: $(STAMP)
	mkdir -p $(BASETEMP)
	tests/with_postgres.sh $(BIN)/pytest -q -p no:randomly --basetemp=$(BASETEMP)/py311-pg \
		$(PROCESS_TESTS)

# The newest pair (Python 3.13, Django 6.1) and Django 6.0 on Python 3.12, each in a venv of its
# own; the interpreters are found with pyenv (or $$PYTHON313 / $$PYTHON312).
PY313 := tests/with_python.sh 3.13 'django>=6.1,<6.2' .venv-py313-django61
PY312 := tests/with_python.sh 3.12 'django>=6.0,<6.1' .venv-py312-django60

pytest-django61:
	mkdir -p $(BASETEMP)
	$(PY313) pytest -q --basetemp=$(BASETEMP)/py313

pytest-django61-postgres:
	mkdir -p $(BASETEMP)
	$(PY313) tests/with_postgres.sh pytest -q -p no:randomly --basetemp=$(BASETEMP)/py313-pg \
		$(PROCESS_TESTS)

# Django 6.0 sits between the two pairs above: the in-process suite; the process-level and
# browser tests (marked slow) run on 5.2 and 6.1.
pytest-django60:
	mkdir -p $(BASETEMP)
	$(PY312) pytest -q -m "not slow" --basetemp=$(BASETEMP)/py312

# The five passes, two at a time (one per core of a small machine), each pass's output kept
# together.
PASSES := pytest pytest-postgres pytest-django61 pytest-django61-postgres pytest-django60
test: lint typecheck
	$(MAKE) --no-print-directory -j2 --output-sync=target $(PASSES)

# The inner loop: one pass, without the process-level and browser tests.
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

# The benchmarks' extra (the other tools bench_other_tools measures, for reference).
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet $(MAIN_DJANGO) -e '.[bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .venv-py3* profiles demo_site/db.sqlite3 .pytest_cache .mypy_cache .ruff_cache
