PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo serve test lint format bench bench-recording bench-history bench-size bench-decision bench-queue bench-web schemas reference clean record-cassettes

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,mcp,calibrate,web,native]'
	touch $@

# The engine's hot modules compiled with mypyc when a C compiler is available (build_native.py;
# about 30 s, then only when they change); one line says which. PURE=1 (e.g. `make test PURE=1`)
# runs everything as plain Python: same output, slower.
ifeq ($(PURE),1)
export ACCOUNT_HEALTH_PURE := 1
endif

install: $(BIN)/.installed
	$(BIN)/python build_native.py

demo: install
	$(BIN)/account-health demo

# The browser workspace on the demo accounts, recorded on three weekly dates into a fresh
# demo database (nothing else changes, so relationship recency decays week by week).
DEMO_DB ?= $(or $(TMPDIR),/tmp)/account-health-demo.sqlite3
serve: install
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	for day in 2026-11-23 2026-11-30 2026-12-07; do \
		$(BIN)/account-health run assets/demo/accounts.json --as-of $$day --db $(DEMO_DB) --format json > /dev/null || exit 1; \
	done
	$(BIN)/account-health serve --db $(DEMO_DB)

# On every core (pytest-xdist). Tests bind free ports; only one binds the stand-in's fixed port.
test: install
	$(BIN)/python -m pytest -q -n auto

lint: install
	$(BIN)/ruff check skill tests benchmarks build_native.py
	$(BIN)/ruff format --check skill tests benchmarks build_native.py

format: install
	$(BIN)/ruff format skill tests benchmarks build_native.py
	$(BIN)/ruff check --fix skill tests benchmarks build_native.py

# Re-record the LLM cassettes from the local stand-in (tests/llm_standin.py); see tests/cassettes/README.md.
record-cassettes: install
	$(BIN)/python -m pytest tests/drafting --record-mode=rewrite -q

bench: install
	$(BIN)/python benchmarks/engine.py

bench-recording: install
	$(BIN)/python benchmarks/history.py

bench-history: install
	$(BIN)/python benchmarks/history_measure.py

# Bytes per account per recorded date, before and after packing documents.
bench-size: install
	$(BIN)/python benchmarks/store_size.py

# Decision quality on simulated worlds with hidden churn mechanisms: default vs calibrated.
bench-decision: install
	$(BIN)/python benchmarks/decision.py

# The approval queue at 100,000 items: time and peak memory of each listing.
bench-queue: install
	$(BIN)/python benchmarks/approval_queue.py

# The workspace's portfolio and account pages over 100,000 accounts x 8 weeks (built once).
bench-web: install
	$(BIN)/python benchmarks/web.py

schemas: install
	$(BIN)/account-health schema all --write assets/schemas

reference: install
	$(BIN)/python -m skill.reference --write REFERENCE.md

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
