"""Item 5: AWS calls per transaction on the API and SQS paths, by service.

Run from the repository root: ``python -m bench.bench_calls [--transactions N]``.

The app (``chalice.test.Client``) on an in-process moto with the stage provisioned and
the default model and rule pack active; every client the functions use
(``chalicelib.aws``) is watched with ``fraudctl.local.calls.CallLog``. After a warm-up
transaction (a cold container also reads the model, the rules and SSM), N transactions
go through ``POST /v1/score`` one by one, then N through the queue handler in batches of
10. Baselines: for the API, DynamoDB items read and written per transaction (the calls a
store without batch reads and transactions would make); for SQS, the API's calls per
transaction (scoring the same messages one by one).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from moto import mock_aws

from bench.records import Figure, command_line, figure
from bench.service import ROOT, quiet_service, simulated_payloads
from bench.stage import REGION, provisioned_stage
from chalicelib import aws
from fraudctl.local.calls import CallLog
from fraudctl.rulefiles import DEFAULT_PACK, read_rules_file
from tests.conftest import sqs_event

SERVICES = ("dynamodb", "s3", "sns", "sqs", "ssm")
SQS_BATCH = 10


def dynamodb_items(log: CallLog) -> int:
    """DynamoDB items the logged calls read or wrote."""
    items = 0
    for service, operation, params in log.calls:
        if service != "dynamodb":
            continue
        if operation == "BatchGetItem":
            items += sum(len(table["Keys"]) for table in params["RequestItems"].values())
        elif operation == "TransactWriteItems":
            items += len(params["TransactItems"])
        else:
            items += 1
    return items


def chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def measure(transactions: int = 50) -> list[Figure]:
    """Item 5's figures; ``transactions`` per path (a multiple of 10)."""
    from chalice.test import Client

    from app import app

    payloads = simulated_payloads(50, 3, seed=5)[: 2 * transactions + 1]
    with (
        mock_aws(),
        provisioned_stage(),
        quiet_service(),
        Client(app, stage_name="local", project_dir=str(ROOT)) as client,
    ):
        client.http.post(
            "/v1/rules/import",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"rules": read_rules_file(DEFAULT_PACK)["rules"]}),
        )
        warm_up, api_payloads, queued = (
            payloads[0],
            payloads[1 : transactions + 1],
            payloads[transactions + 1 :],
        )
        post(client, warm_up)
        log = CallLog(*(aws.client(name, REGION, None) for name in SERVICES))
        for payload in api_payloads:
            post(client, payload)
        api_calls, api_items = log.by_service(), dynamodb_items(log)
        log.clear()
        for batch in chunks(queued, SQS_BATCH):
            response = client.lambda_.invoke(
                "score_queue", sqs_event([json.dumps(p) for p in batch])
            )
            if response.payload["batchItemFailures"]:
                raise RuntimeError(f"queue records failed: {response.payload}")
        sqs_calls = log.by_service()
    figures = [
        figure(
            "api_dynamodb_calls_per_tx",
            api_calls["dynamodb"] / transactions,
            "calls",
            api_items / transactions,
        )
    ]
    for service in SERVICES:
        if service != "dynamodb":
            figures.append(
                figure(
                    f"api_{service}_calls_per_tx", api_calls[service] / transactions, "calls", None
                )
            )
    for service in SERVICES:
        api = api_calls[service] / transactions
        figures.append(
            figure(
                f"sqs_{service}_calls_per_tx",
                sqs_calls[service] / len(queued),
                "calls",
                api if api else None,
            )
        )
    return figures


def post(client: Any, payload: dict[str, Any]) -> None:
    """``POST /v1/score``; ``RuntimeError`` unless it answers 200."""
    response = client.http.post(
        "/v1/score", headers={"Content-Type": "application/json"}, body=json.dumps(payload)
    )
    if response.status_code != 200:
        raise RuntimeError(f"POST /v1/score answered {response.status_code}: {response.body}")


def main() -> None:
    command_line(__doc__, measure, transactions=50)


if __name__ == "__main__":
    main()
