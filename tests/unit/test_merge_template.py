"""The merge template (fraudctl.deploy.merge): every function covered, nothing stale."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fraudctl.deploy.merge import Function, PackagingError, check_merged, render

FUNCTIONS = [Function("api_handler"), Function("score_queue", sqs=True)]


def policies(tmp_path: Path, functions: dict[str, list[str]]) -> Path:
    path = tmp_path / "policies.yaml"
    documents = {"trace": [{"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"}]}
    path.write_text(yaml.safe_dump({"documents": documents, "functions": functions}))
    return path


def test_render_fixes_the_stage_and_adds_each_functions_parts(tmp_path):
    path = policies(tmp_path, {"api_handler": ["trace"], "score_queue": ["trace"]})

    template = render("prod", FUNCTIONS, policies=path)

    assert template["Parameters"]["Stage"]["AllowedValues"] == ["prod"]
    resources = template["Resources"]
    assert resources["APIHandler"]["Properties"]["FunctionName"] == {
        "Fn::Sub": "fraud-${Stage}-api-handler"
    }
    assert [p["PolicyName"] for p in resources["ScoreQueueRole"]["Properties"]["Policies"]] == [
        "logs",
        "trace",
    ]
    event = resources["ScoreQueue"]["Properties"]["Events"]["ScoreQueueSqsEventSource"]
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "Events" not in resources["APIHandler"]["Properties"]
    assert {"APIHandlerErrorsAlarm", "ScoreQueueThrottlesAlarm", "ApiHandlerLogGroup"} <= set(
        resources
    )


@pytest.mark.parametrize(
    ("listed", "message"),
    [
        ({"api_handler": ["trace"]}, "without an IAM policy.*score_queue"),
        (
            {"api_handler": ["trace"], "score_queue": ["trace"], "drain_outbox": ["trace"]},
            "does not have: drain_outbox",
        ),
        ({"api_handler": ["trace"], "score_queue": ["write-anything"]}, "unknown documents"),
    ],
)
def test_render_refuses_functions_and_policies_that_disagree(tmp_path, listed, message):
    with pytest.raises(PackagingError, match=message):
        render("dev", FUNCTIONS, policies=policies(tmp_path, listed))


def sam(resources: dict) -> dict:
    return {"Resources": resources}


def function(events: dict | None = None) -> dict:
    return {"Type": "AWS::Serverless::Function", "Properties": {"Events": events or {}}}


def test_check_merged_accepts_merges_onto_chalices_resources():
    events = {"ScoreQueueSqsEventSource": {"Type": "SQS", "Properties": {}}}

    check_merged(sam({"APIHandler": function(), "ScoreQueue": function(events)}), FUNCTIONS)


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"APIHandler": function(), "ScoreQueue": function(), "Orphan": {}}, "did not generate"),
        ({"APIHandler": function()}, "differ from the app's"),
        (
            {"APIHandler": function(), "ScoreQueue": function({"Renamed": {"Properties": {}}})},
            "event Chalice did not generate: Renamed",
        ),
    ],
)
def test_check_merged_refuses_merges_that_missed(resources, message):
    with pytest.raises(PackagingError, match=message):
        check_merged(sam(resources), FUNCTIONS)
