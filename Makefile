# Everything a fresh machine needs, from python3 and make alone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := $(BIN)/python demo_site/manage.py

.PHONY: demo test lint typecheck pytest pytest-postgres pytest-django42 bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
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

pytest: $(STAMP)
	$(BIN)/pytest

# The same suite against a throwaway PostgreSQL server (the process-level tests drive their own
# SQLite projects, so they run once, above).
pytest-postgres: $(STAMP)
	tests/with_postgres.sh $(BIN)/pytest -q -p no:randomly \
		--ignore tests/test_demo_site.py --ignore tests/test_other_project_process.py

# The oldest supported Django (4.2 LTS), in a venv of its own.
VENV42 := .venv-django42
$(VENV42)/.installed: pyproject.toml
	test -x $(VENV42)/bin/python || $(PYTHON) -m venv $(VENV42)
	$(VENV42)/bin/python -m pip install --quiet --upgrade pip
	$(VENV42)/bin/python -m pip install --quiet 'django>=4.2,<4.3' -e '.[test]'
	touch $@

pytest-django42: $(VENV42)/.installed
	$(VENV42)/bin/pytest -q

test: lint typecheck pytest pytest-postgres pytest-django42

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(VENV42) profiles demo_site/db.sqlite3 .pytest_cache .mypy_cache .ruff_cache
