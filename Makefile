PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint format bench bench-recording bench-history bench-size bench-decision schemas reference clean record-cassettes

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,mcp,calibrate]'
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/account-health demo

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check skill tests benchmarks
	$(BIN)/ruff format --check skill tests benchmarks

format: install
	$(BIN)/ruff format skill tests benchmarks
	$(BIN)/ruff check --fix skill tests benchmarks

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

schemas: install
	$(BIN)/account-health schema all --write assets/schemas

reference: install
	$(BIN)/python -m skill.reference --write REFERENCE.md

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
