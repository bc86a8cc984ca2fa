# The two commands a user needs: `make run` and `make test`; `make package` for AWS;
# `make bench` for the benchmarks (bench/RESULTS.md).
PYTHON ?= python3.12
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test lint clean model package bench aws-models

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q 'pip<26.3'
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $(STAMP)

run: setup
	$(BIN)/python -m fraudctl.local.stack

# Two workers (the test files are independent: moto per process, free ports, tmp dirs).
PYTEST_ARGS ?= -n 2 --dist loadfile
test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The stage's Lambda bundle and CloudFormation templates in dist/ (docs/deploy.md).
STAGE ?= dev
package: setup
	$(BIN)/python -m fraudctl.deploy.package --stage $(STAGE) --out dist

# Every benchmark against its baseline, in under 10 minutes: bench/results.json and the
# generated part of bench/RESULTS.md. Exit 1 when a floor fails, 2 when a benchmark failed.
bench: setup
	$(BIN)/python -m bench.run

# The trimmed service models and endpoints the clients load (chalicelib/aws_models):
# after changing chalicelib.aws.OPERATIONS or upgrading botocore.
aws-models: setup
	$(BIN)/python -m fraudctl.deploy.aws_models

lint: setup
	$(BIN)/ruff check chalicelib fraudctl app.py tests bench
	$(BIN)/mypy chalicelib fraudctl app.py

clean:
	rm -rf $(VENV) .local dist

# The default model: simulate the project's own data, train on it (one documented command).
MODEL_DATA ?= .local/simulated.csv.gz
MODEL_KIND ?= logistic
model: setup
	@mkdir -p .local
	$(BIN)/fraudctl simulate --out $(MODEL_DATA) --customers 5000 --days 120 --seed 20250101
	$(BIN)/fraudctl train --data $(MODEL_DATA) --train-from 2025-02-15 --train-to 2025-04-01 \
		--model $(MODEL_KIND) --anomaly --out model_artifacts/default
