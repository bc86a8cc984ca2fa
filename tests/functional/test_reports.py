"""Daily reports against moto: the scheduled function, the drift alert, the route and the
``fraudctl report`` command, from decisions scored and labelled through the app."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import boto3

from chalicelib.reports.drift import MIN_SAMPLE
from chalicelib.state.dynamodb import item_to_dynamo
from fraudctl.cli import build_parser
from fraudctl.local.streams import lambda_context, scheduled_event
from tests.conftest import REGION, post_json, scan, sqs_event, transaction
from tests.functional.test_alerts import bodies, subscribe_queue

DAY = "2025-03-14"
RUN_AT = "2025-03-15T00:30:00Z"
URL = "http://127.0.0.1:8000"


def score_many(count: int, **overrides: Any) -> None:
    """``count`` transactions of DAY through the queue handler, 10 per batch."""
    from app import score_queue

    payloads = [
        json.dumps(
            transaction(
                transaction_id=f"t-{i:04d}",
                timestamp=f"{DAY}T{i % 24:02d}:{i % 60:02d}:00",
                customer_id=f"C-{i % 7}",
                terminal_id=f"T-{i % 5}",
                **overrides,
            )
        )
        for i in range(count)
    ]
    for start in range(0, count, 10):
        response = score_queue(sqs_event(payloads[start : start + 10]), None)
        assert response == {"batchItemFailures": []}


def run_daily_report(at: str = RUN_AT) -> dict:
    from app import daily_report

    return daily_report(scheduled_event("daily_report", REGION, _time(at)), lambda_context("r"))


def _time(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text)


def stored(stack, day: str, name: str) -> tuple[str, str]:
    s3 = boto3.client("s3", region_name=REGION)
    obj = s3.get_object(Bucket=stack.bucket, Key=f"reports/{stack.stage}/{day}/{name}")
    return obj["Body"].read().decode(), obj["ContentType"]


def test_the_daily_function_stores_yesterdays_report_matching_the_stored_decisions(
    stack, api, alert_stream
):
    score_many(40)
    for i in range(0, 40, 4):
        post_json(api, "/v1/feedback", {"transaction_id": f"t-{i:04d}", "is_fraud": i % 8 == 0})
    alert_stream.poll_once()

    written = run_daily_report()

    assert set(written) == {DAY, "2025-03-07"}
    text, content_type = stored(stack, DAY, "report.json")
    report = json.loads(text)
    assert content_type == "application/json"
    items = [i for i in scan(stack.decisions_table) if i["day"] == DAY]
    labelled = [i for i in items if "label" in i]
    flagged = [i for i in labelled if i["decision"] != "allow"]
    true_positives = sum(1 for i in flagged if i["label"])
    assert report["date"] == DAY and report["volume"]["transactions"] == 40
    assert report["decisions"]["counts"] == {
        d: sum(1 for i in items if i["decision"] == d) for d in ("allow", "review", "block")
    }
    assert report["labels"]["labelled"] == 10 and report["labels"]["frauds"] == 5
    assert report["quality"]["flagged"]["true_positives"] == true_positives
    assert report["alerts"]["raised"] == sum(1 for i in items if i["alert"])
    assert report["alerts"]["published"] == report["alerts"]["raised"]
    assert report["drift"]["available"] and report["drift"]["reference_version"]
    page, page_type = stored(stack, DAY, "report.html")
    assert page_type.startswith("text/html") and page.startswith("<!DOCTYPE html>")
    assert json.loads(stored(stack, "2025-03-07", "report.json")[0])["volume"]["transactions"] == 0


def copies(stack, count: int) -> None:
    """``count`` more decisions of DAY, copies of a scored one (scoring hundreds through
    moto's transactions would take minutes; the report reads only the table)."""
    (record,) = [i for i in scan(stack.decisions_table) if i["day"] == DAY]
    requests = [
        {
            "PutRequest": {
                "Item": item_to_dynamo(
                    {**record, "transaction_id": f"copy-{n}", "day_bucket": f"{DAY}#{n % 16:02d}"}
                )
            }
        }
        for n in range(count)
    ]
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for start in range(0, count, 25):
        dynamodb.batch_write_item(
            RequestItems={stack.decisions_table: requests[start : start + 25]}
        )


def test_significant_drift_raises_one_filterable_drift_alert(stack, api):
    drift_subscriber = subscribe_queue(stack.alerts_topic_arn, "drift", {"alert_type": ["drift"]})
    decisions = subscribe_queue(stack.alerts_topic_arn, "decisions", {"decision": ["block"]})
    score_many(1, amount=9000.0)  # far beyond the training amounts
    copies(stack, MIN_SAMPLE)

    run_daily_report()
    run_daily_report()  # a retried or repeated run alerts no more

    [alert] = bodies(drift_subscriber)
    report = json.loads(stored(stack, DAY, "report.json")[0])
    assert alert["alert_type"] == "drift" and alert["date"] == DAY
    assert "amount" in [d["name"] for d in alert["drifted"]]
    assert alert["max_psi"] == report["drift"]["max_psi"] >= report["drift"]["threshold"]
    assert report["drift"]["alerted_at"]
    assert bodies(decisions) == []  # the drift alert has no decision attribute


def test_few_transactions_never_raise_a_drift_alert(stack, api):
    everything = subscribe_queue(stack.alerts_topic_arn, "all")
    score_many(1, amount=9000.0)
    copies(stack, MIN_SAMPLE - 2)

    run_daily_report()

    report = json.loads(stored(stack, DAY, "report.json")[0])
    assert {d["status"] for d in report["drift"]["features"]} == {"insufficient"}
    assert report["drift"]["drifted"] == [] and bodies(everything) == []


def test_report_route_serves_json_html_404_and_computes_on_demand(stack, api):
    score_many(12)

    missing = api.http.get(f"/v1/reports/{DAY}")
    computed = api.http.get(f"/v1/reports/{DAY}?compute=true")
    as_json = api.http.get(f"/v1/reports/{DAY}")
    by_accept = api.http.get(f"/v1/reports/{DAY}", headers={"Accept": "text/html"})
    by_query = api.http.get(f"/v1/reports/{DAY}?format=html")
    bad_date = api.http.get("/v1/reports/2025-3-14")
    bad_format = api.http.get(f"/v1/reports/{DAY}?format=pdf")

    assert missing.status_code == 404
    assert computed.status_code == 200
    assert json.loads(computed.body)["volume"]["transactions"] == 12
    assert json.loads(as_json.body) == json.loads(computed.body)
    for page in (by_accept, by_query):
        assert page.status_code == 200
        assert page.headers["Content-Type"].startswith("text/html")
        assert page.body.decode().startswith("<!DOCTYPE html>")
    assert bad_date.status_code == 400 and bad_format.status_code == 400


def cli(api, capsys, *argv: str) -> tuple[int, str, str]:
    """Run a fraudctl command; its API requests go to the app in process."""

    def send(method, url, headers, body):
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = api.http.request(method, path, headers=headers, body=body or b"")
        return response.status_code, response.body

    args = build_parser().parse_args(list(argv))
    needs_api = argv[0] in ("feedback", "report")
    code = args.func(args, send=send) if needs_api else args.func(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_fraudctl_report_writes_the_stored_report_or_has_the_api_compute_it(
    stack, api, capsys, tmp_path
):
    score_many(10)

    code, out, _ = cli(
        api, capsys, "report", "--date", DAY, "--out", str(tmp_path / "a"), "--url", URL
    )
    assert code == 0 and "(computed)" in out
    run_daily_report()
    code, out, _ = cli(
        api, capsys, "report", "--date", DAY, "--out", str(tmp_path / "b"), "--url", URL
    )

    assert code == 0 and "(stored)" in out
    first = json.loads((tmp_path / "a" / "report.json").read_text())
    second = json.loads((tmp_path / "b" / "report.json").read_text())
    assert first["volume"] == second["volume"] and first["decisions"] == second["decisions"]
    assert (tmp_path / "b" / "report.html").read_text() == stored(stack, DAY, "report.html")[0]


def test_fraudctl_feedback_labels_through_the_api_and_reports_refused_rows(
    stack, api, capsys, tmp_path
):
    score_many(3)
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "transaction_id,is_fraud\nt-0000,1\nt-0001,0\nunknown-tx,1\nt-0002,maybe\nt-0000,true\n"
    )

    code, out, err = cli(api, capsys, "feedback", "--data", str(labels), "--url", URL)

    assert code == 1
    assert out.strip() == "5 labels: 2 changed, 1 unchanged, 2 refused"
    assert "line 4 (unknown-tx): HTTP 404" in err and "line 5 (t-0002): HTTP 400" in err
    stored_labels = {i["transaction_id"]: i.get("label") for i in scan(stack.decisions_table)}
    assert stored_labels == {"t-0000": True, "t-0001": False, "t-0002": None}


def test_export_then_train_retrains_a_model_from_production_data(stack, api, capsys, tmp_path):
    # Three weeks of a few customers, every transaction labelled: enough to train on the
    # first week and choose thresholds on the third (after the 7-day label delay).
    from app import score_queue

    payloads = [
        transaction(
            transaction_id=f"h-{n:03d}",
            timestamp=f"2025-03-{1 + n // 4:02d}T{8 + n % 4:02d}:00:00",
            customer_id=f"C-{n % 3}",
            terminal_id=f"T-{n % 2}",
            amount=float(900 + n) if n % 5 == 0 else float(10 + n % 4),
        )
        for n in range(84)
    ]
    for start in range(0, len(payloads), 10):
        score_queue(sqs_event([json.dumps(p) for p in payloads[start : start + 10]]), None)
    for n, p in enumerate(payloads):
        post_json(
            api, "/v1/feedback", {"transaction_id": p["transaction_id"], "is_fraud": n % 5 == 0}
        )
    data, model = tmp_path / "exported.csv", tmp_path / "model"

    exported = cli(
        api, capsys, "export", "--from", "2025-03-01", "--to", "2025-03-22", "--out", str(data)
    )
    trained = cli(
        api,
        capsys,
        "train",
        "--data",
        str(data),
        "--train-from",
        "2025-03-01",
        "--train-to",
        "2025-03-08",
        "--out",
        str(model),
    )

    assert exported[0] == 0 and "84 transactions (17 frauds)" in exported[1]
    header, first, *_ = data.read_text().splitlines()
    assert header.split(",")[:6] == [
        "transaction_id",
        "timestamp",
        "amount",
        "currency",
        "customer_id",
        "terminal_id",
    ]
    assert header.endswith(",is_fraud") and first.startswith("h-000,2025-03-01T08:00:00")
    assert trained[0] == 0
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["training"]["rows"] == 28 and manifest["training"]["frauds"] == 6
    assert manifest["metrics"]["validation"]["rows"] == 28
    assert set(manifest["reference"]["features"]) == set(manifest["feature_names"])
