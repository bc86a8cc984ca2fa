"""The bundle built for this machine's architecture (dev's x86_64 here), unzipped alone,
imports and scores against moto as on Lambda, within its roles' permissions.

A clean Python 3.12 (``-I -S -B``: no site-packages, no Python environment variables, no
bytecode written, as in Lambda's read-only ``/var/task``) sees only the unzipped
``deployment.zip`` and copies of what the python3.12 runtime provides (boto3 and its
dependencies), in the runtime's environment with active tracing. The functions read
their resources from a moto server provisioned from infra/resources.yaml, the model from
the registry and the hashing key from an SSM SecureString, as deployed. Every AWS call
they make is recorded and must be allowed by the role the packaged template gives the
function. A bundle of the other architecture (prod's arm64) cannot run here; its wheel
tags and ELF headers are checked in test_bundle.py.
"""

from __future__ import annotations

import json
import platform
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.model.registry import ModelRegistry
from chalicelib.settings import ENV_ID_HASH_KEY_PARAMETER
from fraudctl.deploy import bundle
from fraudctl.local.provision import StackResources, provision
from fraudctl.local.streams import scheduled_event, stream_event
from tests.conftest import REGION, artifact_files, load_event, sqs_event, transaction
from tests.deploy import iam

STAGE = "bundle"
PARAMETER = f"/fraud/{STAGE}/id-hash-key"
PROBE = Path(__file__).with_name("bundle_probe.py")
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
NATIVE_ARCHITECTURE = {"x86_64": "x86_64", "aarch64": "arm64"}[platform.machine()]
# Handler in the probe's events -> the function's resource in the template.
FUNCTIONS = {
    "api": "APIHandler",
    "sqs": "ScoreQueue",
    "stream": "PublishAlerts",
    "drain": "DrainAlertOutbox",
    "report": "DailyReport",
}
# Calls each handler must at least have made (so that the permission check means something).
EXPECTED_ACTIONS = {
    "api": {
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "s3:GetObject",
        "s3:PutObject",
        "ssm:GetParameter",
    },
    "sqs": {"dynamodb:BatchGetItem", "dynamodb:PutItem", "s3:GetObject", "ssm:GetParameter"},
    "stream": {"dynamodb:BatchGetItem", "sns:Publish", "sqs:SendMessage"},
    "drain": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sns:Publish", "dynamodb:UpdateItem"},
    "report": {"dynamodb:Query", "s3:GetObject", "s3:PutObject"},
}
REPORT_DAY = "2025-03-14"  # the day of tests/events/transaction.json


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class MotoServer:
    endpoint: str
    recording: Path

    def recorder(self, command: str) -> None:
        url = f"{self.endpoint}/moto-api/recorder/{command}"
        with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=5):
            pass

    def recorded(self) -> list[dict[str, Any]]:
        if not self.recording.exists():
            return []
        return [json.loads(line) for line in self.recording.read_text().splitlines() if line]


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto server on a free loopback port that can record the requests it serves."""
    port = free_port()
    recording = tmp_path_factory.mktemp("moto") / "recording.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**FAKE_CREDENTIALS, "MOTO_RECORDER_FILEPATH": str(recording), "PATH": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = MotoServer(f"http://127.0.0.1:{port}", recording)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{server.endpoint}/moto-api/", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


def api_event(
    path: str,
    payload: dict[str, Any] | None,
    method: str = "POST",
    resource: str | None = None,
    parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway proxy event of a request to ``path`` (route ``resource``)."""
    event = load_event("apigw_score.json")
    event["path"] = path
    event["resource"] = event["requestContext"]["resourcePath"] = resource or path
    event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    event["pathParameters"] = parameters
    event["body"] = json.dumps(payload) if payload is not None else None
    return event


SUSPEND_RULE = {
    "rule_id": "big",
    "expression": "amount > 1000 or customer_id in @watch",
    "action": "suspend",
    "suspend": {"target": "customer_id", "duration": "1h"},
}
# Analysts' routes: a rule, list items (batch), histories, a removal; then a transaction
# that the rule suspends (its list item rides with the decision).
RULES_AND_LISTS = [
    api_event("/v1/rules", SUSPEND_RULE),
    api_event(
        "/v1/lists/watch/items",
        {"items": [{"value": "C-7"}, {"value": "C-8"}]},
        "POST",
        "/v1/lists/{name}/items",
        {"name": "watch"},
    ),
    api_event("/v1/rules/versions", None, "GET"),
    api_event(
        "/v1/lists/watch/items/C-8",
        None,
        "DELETE",
        "/v1/lists/{name}/items/{value}",
        {"name": "watch", "value": "C-8"},
    ),
    api_event("/v1/lists/watch/items", None, "GET", "/v1/lists/{name}/items", {"name": "watch"}),
]
REPORTS = [
    api_event(
        f"/v1/reports/{REPORT_DAY}",
        None,
        "GET",
        "/v1/reports/{day}",
        {"day": REPORT_DAY},
    ),
]


def decisions_stream_event(
    session: boto3.session.Session, endpoint: str, resources: StackResources
) -> dict[str, Any]:
    """Every record of the decisions stream so far, as one Lambda event."""
    streams = session.client("dynamodbstreams", endpoint_url=endpoint)
    arn = resources.decisions_stream_arn
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records += streams.get_records(ShardIterator=iterator)["Records"]
    return stream_event(records, arn)


def aws_session() -> boto3.session.Session:
    credentials = {name.lower(): value for name, value in FAKE_CREDENTIALS.items()}
    return boto3.session.Session(region_name=REGION, **credentials)


@dataclass(frozen=True)
class Run:
    """One cold start of the bundle invoking one handler."""

    report: dict[str, Any]
    calls: list[dict[str, Any]]  # the AWS requests it made, as moto recorded them


@dataclass(frozen=True)
class BundleRuns:
    endpoint: str
    task: Path
    runtime: Path
    resources: StackResources
    model_version: str
    events: dict[str, Any]
    runs: dict[str, Run]
    template: dict[str, Any]
    exports: dict[str, str]


@pytest.fixture(scope="module")
def bundle_runs(packages, moto_server, tmp_path_factory) -> BundleRuns:
    """Each handler of the native bundle invoked once, in its own cold start."""
    (packaged,) = [p for p in packages.values() if p.architecture == NATIVE_ARCHITECTURE]
    work = tmp_path_factory.mktemp("lambda")
    task = work / "task"
    with zipfile.ZipFile(packaged.bundle) as archive:
        archive.extractall(task)
    runtime = bundle.distribution_copy(work / "runtime", bundle.LAMBDA_RUNTIME_PROVIDED)
    session = aws_session()
    endpoint = moto_server.endpoint
    resources = provision(session, STAGE, endpoint)
    s3 = session.client("s3", endpoint_url=endpoint)
    registry = ModelRegistry(s3, resources.bucket, f"models/{STAGE}")
    version = registry.publish(artifact_files())
    registry.activate(version)
    session.client("ssm", endpoint_url=endpoint).put_parameter(
        Name=PARAMETER, Value="bundle-test-key", Type="SecureString"
    )
    computed = api_event(
        f"/v1/reports/{REPORT_DAY}", None, "GET", "/v1/reports/{day}", {"day": REPORT_DAY}
    )
    computed["queryStringParameters"] = {"compute": "true"}
    computed["multiValueQueryStringParameters"] = {"compute": ["true"]}
    events: dict[str, Any] = {
        "api": [
            api_event("/v1/score", transaction(transaction_id="api-1")),
            api_event("/v1/feedback", {"transaction_id": "api-1", "is_fraud": True}),
            *RULES_AND_LISTS,
            api_event("/v1/score", transaction(transaction_id="api-2", amount=1500.0)),
            computed,
            *REPORTS,
        ],
        "sqs": [sqs_event([json.dumps(transaction(transaction_id="q-1")), "{not json"])],
    }
    env = {
        **FAKE_CREDENTIALS,
        **resources.environment(endpoint),
        ENV_ID_HASH_KEY_PARAMETER: PARAMETER,
        **bundle.lambda_environment(task, runtime, f"fraud-{STAGE}"),
    }
    runs = {}

    def invoke(handler: str) -> Run:
        events_file = work / f"{handler}.json"
        events_file.write_text(json.dumps({handler: events[handler]}))
        moto_server.recorder("start-recording")
        before = len(moto_server.recorded())
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-B", PROBE, task, runtime, events_file],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        moto_server.recorder("stop-recording")
        assert result.returncode == 0, result.stderr[-4000:]
        report = json.loads(result.stdout.splitlines()[-1].removeprefix("REPORT "))
        return Run(report, moto_server.recorded()[before:])

    for handler in ("api", "sqs"):
        runs[handler] = invoke(handler)
    # The decisions stream as Lambda hands it to the alert publisher, while the topic is
    # gone (its alerts go to the outbox); the drain then publishes them to the topic back.
    events["stream"] = [decisions_stream_event(session, endpoint, resources)]
    sns = session.client("sns", endpoint_url=endpoint)
    sns.delete_topic(TopicArn=resources.alerts_topic_arn)
    runs["stream"] = invoke("stream")
    assert sns.create_topic(Name=resources.alerts_topic_arn.rsplit(":", 1)[1])["TopicArn"] == (
        resources.alerts_topic_arn
    )
    events["drain"] = [scheduled_event("drain", REGION)]
    runs["drain"] = invoke("drain")
    events["report"] = [scheduled_event("report", REGION, datetime(2025, 3, 15, 0, 30, tzinfo=UTC))]
    runs["report"] = invoke("report")
    cloudformation = session.client("cloudformation", endpoint_url=endpoint)
    exports = {e["Name"]: e["Value"] for e in cloudformation.list_exports()["Exports"]}
    return BundleRuns(
        endpoint, task, runtime, resources, version, events, runs, packaged.sam, exports
    )


def test_api_handler_scores_a_transaction_and_takes_its_label(bundle_runs):
    scored, labelled, *_ = bundle_runs.runs["api"].report["responses"]["api"]

    assert scored["statusCode"] == 200, scored
    decision = json.loads(scored["body"])
    assert decision["transaction_id"] == "api-1"
    assert decision["decision"] in ("allow", "review", "block")
    assert decision["model_version"] == bundle_runs.model_version
    assert labelled["statusCode"] == 200, labelled


def test_api_handler_manages_rules_and_lists_and_suspends(bundle_runs):
    *managed, suspended = bundle_runs.runs["api"].report["responses"]["api"][2:8]

    assert [r["statusCode"] for r in managed] == [201, 201, 200, 200, 200], managed
    decision = json.loads(suspended["body"])
    assert decision["decision"] == "block" and decision["rules_version"] == "1"
    assert decision["reasons"][0]["suspension"]["list"] == "suspended_customers"


def test_queue_handler_scores_good_messages_and_reports_the_bad_one(bundle_runs):
    (response,) = bundle_runs.runs["sqs"].report["responses"]["sqs"]
    bad = bundle_runs.events["sqs"][0]["Records"][1]["messageId"]

    assert response == {"batchItemFailures": [{"itemIdentifier": bad}]}
    dynamodb = aws_session().client("dynamodb", endpoint_url=bundle_runs.endpoint)
    items = dynamodb.scan(TableName=bundle_runs.resources.decisions_table)["Items"]
    assert {item["transaction_id"]["S"] for item in items} == {"api-1", "api-2", "q-1"}


def test_code_comes_from_the_bundle_and_botocore_from_the_runtime_only(bundle_runs):
    for run in bundle_runs.runs.values():
        report = run.report
        assert report["python"] == [3, 12]
        for name in ("app", "chalicelib", "numpy", "joblib", "aws_xray_sdk", "wrapt"):
            assert report["origins"][name].startswith(f"{bundle_runs.task}/"), name
        assert report["origins"]["botocore"].startswith(f"{bundle_runs.runtime}/")
        # The runtime's boto3 is left unused; models of format 3 load without joblib.
        assert not {"boto3", "joblib"} & set(report["imported"])
        assert [p for p in report["sys_path"] if "site-packages" in p] == []
        assert report["training_importable"] == []


def test_the_scoring_functions_cold_start_imports_no_asyncio(bundle_runs):
    """wrapt 2 would import it with the X-Ray SDK, joblib 1.6 with itself; the queue
    function takes it with powertools' batch utilities, which need it."""
    assert "asyncio" not in bundle_runs.runs["api"].report["imported"]
    assert "asyncio" in bundle_runs.runs["sqs"].report["imported"]


def test_every_module_of_the_bundle_is_imported_from_its_bytecode(bundle_runs):
    for run in bundle_runs.runs.values():
        assert run.report["from_bundle"] > 250  # app, chalicelib, numpy, powertools...
        assert run.report["compiled_at_import"] == []


def test_tracing_is_active_and_patches_botocore_only(bundle_runs):
    for run in bundle_runs.runs.values():
        assert run.report["tracing"] == {"enabled": True, "patched": ["botocore"]}
        assert "requests" not in run.report["imported"]


@pytest.mark.parametrize("handler", sorted(FUNCTIONS))
def test_every_aws_call_is_allowed_by_the_functions_role(bundle_runs, handler):
    resources = bundle_runs.template["Resources"]
    role = resources[resources[FUNCTIONS[handler]]["Properties"]["Role"]["Fn::GetAtt"][0]]
    statements = [
        statement
        for policy in role["Properties"]["Policies"]
        for statement in iam.evaluate(
            policy["PolicyDocument"]["Statement"], {"Stage": STAGE}, bundle_runs.exports.__getitem__
        )
    ]
    requests = [r for call in bundle_runs.runs[handler].calls for r in iam.requests_of(call)]

    assert {r.action for r in requests} >= EXPECTED_ACTIONS[handler]
    assert [r for r in requests if not iam.allows(statements, r)] == []


def test_alerts_go_to_the_outbox_while_the_topic_fails_and_the_drain_publishes_them(
    bundle_runs,
):
    (stream_response,) = bundle_runs.runs["stream"].report["responses"]["stream"]
    (drained,) = bundle_runs.runs["drain"].report["responses"]["drain"]
    dynamodb = aws_session().client("dynamodb", endpoint_url=bundle_runs.endpoint)
    items = dynamodb.scan(TableName=bundle_runs.resources.decisions_table)["Items"]
    alerting = {i["transaction_id"]["S"] for i in items if i["alert"]["BOOL"]}

    assert stream_response == {"batchItemFailures": []}
    assert alerting and drained["published"] == len(alerting) and drained["failed"] == 0
    assert {i["transaction_id"]["S"] for i in items if "alert_published_at" in i} == alerting


def test_report_route_and_daily_function_store_the_days_report(bundle_runs):
    *_, computed, fetched = bundle_runs.runs["api"].report["responses"]["api"]
    (written,) = bundle_runs.runs["report"].report["responses"]["report"]

    assert computed["statusCode"] == 200 and fetched["statusCode"] == 200, fetched
    assert json.loads(fetched["body"])["volume"]["transactions"] == 2
    assert written[REPORT_DAY]["transactions"] == 3
