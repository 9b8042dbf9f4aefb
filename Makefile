# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck pytest browser demo stop bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) on PATH (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,demo]'
	touch $(STAMP)

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy calendars models cli flows tasks engine demo notifications

# Debian's chromium, for the tests that open the HTML report in a real browser (Playwright)
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

pytest: $(STAMP) browser
	$(BIN)/pytest -q

demo: $(STAMP)
	$(BIN)/python -m demo.demo

# the demo leaves its Prefect server running so the UI can be explored; this stops it
stop:
	-test -f data/demo-prefect/server.pid && kill -TERM -$$(cat data/demo-prefect/server.pid) && rm -f data/demo-prefect/server.pid

bench: $(STAMP)
	$(BIN)/python bench/calendar_bench.py
	$(BIN)/python bench/case_bench.py
	$(BIN)/python bench/monitor_bench.py
	$(BIN)/python bench/report_bench.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
