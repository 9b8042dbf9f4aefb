# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# the DfE's census rules need numpy < 2: a venv of their own, pinned (census-requirements.txt)
CENSUS_VENV ?= .venv-census
CENSUS_STAMP := $(CENSUS_VENV)/.installed
# Social Finance's liiatools 0.2.0, whose Annex A cleaner checks `cin annex-a export`'s workbook
# in the tests: it needs pandas < 2 and lxml < 5, so a venv of its own (annex-a-requirements.txt)
ANNEX_A_VENV ?= .venv-annex-a
ANNEX_A_STAMP := $(ANNEX_A_VENV)/.installed
# the previous Prefect pin and the engine's code on it (main's last commit on Prefect 3.8.8), for
# the upgrade test (tests/flows/test_prefect_upgrade.py, docs/prefect.md): a venv of its own
PREFECT_OLD_VENV ?= .venv-prefect-old
PREFECT_OLD_REF ?= 291dbdd
PREFECT_OLD_STAMP := $(PREFECT_OLD_VENV)/.installed

.PHONY: test lint typecheck pytest browser demo demo-serve stop bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) on PATH (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,demo]'
	touch $(STAMP)

$(CENSUS_STAMP): census-requirements.txt
	test -x $(CENSUS_VENV)/bin/python || $(PYTHON) -m venv $(CENSUS_VENV)
	$(CENSUS_VENV)/bin/python -m pip install --quiet -r census-requirements.txt
	touch $(CENSUS_STAMP)

$(ANNEX_A_STAMP): annex-a-requirements.txt
	test -x $(ANNEX_A_VENV)/bin/python || $(PYTHON) -m venv $(ANNEX_A_VENV)
	$(ANNEX_A_VENV)/bin/python -m pip install --quiet -r annex-a-requirements.txt
	$(ANNEX_A_VENV)/bin/python -m pip install --quiet --no-deps liiatools==0.2.0
	touch $(ANNEX_A_STAMP)

$(PREFECT_OLD_STAMP):
	rm -rf $(PREFECT_OLD_VENV)
	$(PYTHON) -m venv $(PREFECT_OLD_VENV)
	mkdir -p $(PREFECT_OLD_VENV)/src
	git archive $(PREFECT_OLD_REF) | tar -x -C $(PREFECT_OLD_VENV)/src
	$(PREFECT_OLD_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PREFECT_OLD_VENV)/bin/python -m pip install --quiet -e '$(PREFECT_OLD_VENV)/src[demo]'
	touch $(PREFECT_OLD_STAMP)

test: $(STAMP) $(CENSUS_STAMP) $(ANNEX_A_STAMP) $(PREFECT_OLD_STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy calendars models cli flows tasks engine api demo notifications

# Debian's chromium, for the tests that open the HTML report in a real browser (Playwright)
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# the suite in PYTEST_WORKERS processes (pytest-xdist), a test to each at a time, the long files'
# tests first (tests/conftest.py says why: `loadgroup` with no test in a group hands them out one
# by one, which balanced better than whole files). PYTEST_WORKERS=0 runs it in one
PYTEST_WORKERS ?= 4
pytest: $(STAMP) $(CENSUS_STAMP) $(ANNEX_A_STAMP) $(PREFECT_OLD_STAMP) browser
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder

demo: $(STAMP) $(CENSUS_STAMP)
	$(BIN)/python -m demo.demo

# the demo leaves its Prefect server and a case worker running so the UI can be explored (the
# deployment reads Ready); demo-serve starts them again on the data the last demo left
demo-serve: $(STAMP)
	$(BIN)/python -m demo.serving

# stops the demo's worker and server
stop:
	-test -f data/demo-prefect/worker.pid && kill -TERM -$$(cat data/demo-prefect/worker.pid); rm -f data/demo-prefect/worker.pid
	-test -f data/demo-prefect/server.pid && kill -TERM -$$(cat data/demo-prefect/server.pid) && rm -f data/demo-prefect/server.pid

bench: $(STAMP)
	$(BIN)/python bench/calendar_bench.py
	$(BIN)/python bench/case_bench.py
	$(BIN)/python bench/monitor_bench.py
	$(BIN)/python bench/report_bench.py

clean:
	rm -rf $(VENV) $(CENSUS_VENV) $(ANNEX_A_VENV) $(PREFECT_OLD_VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
