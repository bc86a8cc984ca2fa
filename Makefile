# The two commands a user needs: `make run` and `make test`.
PYTHON ?= python3.12
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test lint clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $(STAMP)

run: setup
	$(BIN)/python -m fraudctl.local.stack

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check chalicelib fraudctl app.py tests
	$(BIN)/mypy chalicelib fraudctl app.py

clean:
	rm -rf $(VENV) .local dist
