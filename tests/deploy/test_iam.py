"""Least privilege: one role per function, exact actions on named resources."""

from __future__ import annotations

from typing import Any

import pytest

from fraudctl.deploy import templates
from tests.deploy import iam
from tests.deploy.conftest import resources_of_type

# Actions AWS authorises on no narrower resource than "*".
UNSCOPED_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
METRICS_ACTION = "cloudwatch:PutMetricData"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_violations(statement: dict[str, Any]) -> list[str]:
    """Why ``statement`` grants more than exact actions on named resources."""
    actions = as_list(statement["Action"])
    problems = [f"wildcard action {a}" for a in actions if "*" in a]
    if "*" in as_list(statement["Resource"]):
        namespaced = (
            statement.get("Condition", {}).get("StringEquals", {}).get("cloudwatch:namespace")
        )
        allowed = set(actions) <= UNSCOPED_ACTIONS or (actions == [METRICS_ACTION] and namespaced)
        if not allowed:
            problems.append(f'Resource "*" for {actions}')
    return problems


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s
        for policy in role["Properties"]["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
    ]


def role_of(expanded: dict[str, Any], function_id: str) -> dict[str, Any]:
    role_id = expanded["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    return expanded["Resources"][role_id]


def actions_of(role: dict[str, Any]) -> set[str]:
    return {a for s in statements(role) for a in as_list(s["Action"])}


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"Action": "s3:GetObject", "Resource": "*"}, ["Resource \"*\" for ['s3:GetObject']"]),
        ({"Action": "dynamodb:*", "Resource": "arn:t"}, ["wildcard action dynamodb:*"]),
        ({"Action": ["xray:PutTraceSegments"], "Resource": "*"}, []),
        ({"Action": METRICS_ACTION, "Resource": "*"}, [f"Resource \"*\" for ['{METRICS_ACTION}']"]),
        (
            {
                "Action": METRICS_ACTION,
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": "FraudDetection"}},
            },
            [],
        ),
    ],
)
def test_wildcard_check_allows_only_what_aws_cannot_narrow(statement, expected):
    assert wildcard_violations(statement) == expected


def test_no_role_grants_wildcard_actions_or_resources(expanded):
    roles = resources_of_type(expanded, "AWS::IAM::Role")

    problems = {
        k: [p for s in statements(r) for p in wildcard_violations(s)] for k, r in roles.items()
    }

    assert roles
    assert problems == {k: [] for k in roles}


def test_each_function_has_its_own_role_with_its_listed_policies(expanded):
    listed = templates.load(templates.POLICIES)["functions"]
    functions = resources_of_type(expanded, "AWS::Lambda::Function")
    roles = {f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()}
    names = {
        logical_id: [
            p["PolicyName"] for p in role_of(expanded, logical_id)["Properties"]["Policies"]
        ]
        for logical_id in functions
    }

    assert len(roles) == len(functions) == len(listed)
    assert names == {
        "APIHandler": ["logs", *listed["api_handler"]],
        "ScoreQueue": ["logs", *listed["score_queue"]],
        "PublishAlerts": ["logs", *listed["publish_alerts"]],
        "DrainAlertOutbox": ["logs", *listed["drain_alert_outbox"]],
        "DailyReport": ["logs", *listed["daily_report"]],
    }


S3_GRANTS = {
    # function: {(action, object pattern or listing prefix)}
    "APIHandler": {
        ("s3:GetObject", "${Bucket}/models/${Stage}/*"),
        ("s3:ListBucket", "models/${Stage}/*"),
        ("s3:GetObject", "${Bucket}/reports/${Stage}/*"),
        ("s3:PutObject", "${Bucket}/reports/${Stage}/*"),
        ("s3:ListBucket", "reports/${Stage}/*"),
    },
    "ScoreQueue": {
        ("s3:GetObject", "${Bucket}/models/${Stage}/*"),
        ("s3:ListBucket", "models/${Stage}/*"),
    },
    "DailyReport": {
        ("s3:GetObject", "${Bucket}/models/${Stage}/*"),
        ("s3:ListBucket", "models/${Stage}/*"),
        ("s3:GetObject", "${Bucket}/reports/${Stage}/*"),
        ("s3:PutObject", "${Bucket}/reports/${Stage}/*"),
        ("s3:ListBucket", "reports/${Stage}/*"),
    },
    "PublishAlerts": set(),
    "DrainAlertOutbox": set(),
}


def s3_grants(role: dict[str, Any]) -> set[tuple[str, str]]:
    """(action, object pattern) of object actions, (s3:ListBucket, prefix) of listings."""
    grants = set()
    for s in statements(role):
        for action in as_list(s["Action"]):
            if not action.startswith("s3:"):
                continue
            if action == "s3:ListBucket":
                grants.add((action, s["Condition"]["StringLike"]["s3:prefix"]["Fn::Sub"]))
            else:
                grants.add((action, s["Resource"]["Fn::Sub"][0]))
    return grants


def test_functions_use_the_bucket_only_under_their_stage_prefixes(expanded):
    functions = resources_of_type(expanded, "AWS::Lambda::Function")

    assert {f: s3_grants(role_of(expanded, f)) for f in functions} == S3_GRANTS


def test_only_the_queue_function_consumes_the_scoring_queue(expanded):
    queue_actions = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}

    (consume,) = [
        s
        for s in statements(role_of(expanded, "ScoreQueue"))
        if set(as_list(s["Action"])) == queue_actions
    ]
    assert consume["Resource"] == {
        "Fn::ImportValue": {"Fn::Sub": "fraud-${Stage}-scoring-queue-arn"}
    }
    assert not {a for a in actions_of(role_of(expanded, "APIHandler")) if a.startswith("sqs:")}


def test_only_the_scoring_functions_read_the_hashing_key_and_exactly_theirs(expanded):
    readers = set()
    for function_id, function in resources_of_type(expanded, "AWS::Lambda::Function").items():
        parameter = function["Properties"]["Environment"]["Variables"][
            "FRAUD_ID_HASH_KEY_PARAMETER"
        ]
        reads = [
            s
            for s in statements(role_of(expanded, function_id))
            if s["Action"] == "ssm:GetParameter"
        ]
        if not reads:
            continue
        readers.add(function_id)
        (read,) = reads

        assert read["Resource"]["Fn::Sub"].endswith(":parameter" + parameter["Fn::Sub"])
    assert readers == {"APIHandler", "ScoreQueue"}


def test_only_the_api_labels_decisions(expanded):
    def decision_updates(function_id: str) -> list[dict[str, Any]]:
        return [
            s
            for s in statements(role_of(expanded, function_id))
            if "dynamodb:UpdateItem" in as_list(s["Action"]) and "decisions" in str(s["Resource"])
        ]

    assert len(decision_updates("APIHandler")) == 1
    assert decision_updates("ScoreQueue") == []


def test_only_the_alert_functions_publish_alerts_and_use_the_outbox(expanded):
    def actions(function_id: str, prefix: str) -> set[str]:
        return {a for a in actions_of(role_of(expanded, function_id)) if a.startswith(prefix)}

    assert actions("APIHandler", "sns:") == actions("ScoreQueue", "sns:") == set()
    assert actions("PublishAlerts", "sqs:") == {"sqs:SendMessage"}
    assert actions("DrainAlertOutbox", "sqs:") == {
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
    }
    for function_id in ("PublishAlerts", "DrainAlertOutbox", "DailyReport"):
        assert actions(function_id, "sns:") == {"sns:Publish"}


# The evaluator that checks the bundle's recorded AWS calls (test_bundle_runs.py).
MODELS = {
    "Effect": "Allow",
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::b/models/dev/*",
}
LISTING = {
    "Effect": "Allow",
    "Action": "s3:ListBucket",
    "Resource": "arn:aws:s3:::b",
    "Condition": {"StringLike": {"s3:prefix": "models/dev/*"}},
}


@pytest.mark.parametrize(
    ("request_", "allowed"),
    [
        (iam.Request("s3:GetObject", "arn:aws:s3:::b/models/dev/active.json"), True),
        (iam.Request("S3:getobject", "arn:aws:s3:::b/models/dev/v/m.joblib"), True),
        (iam.Request("s3:GetObject", "arn:aws:s3:::b/reports/dev/r.json"), False),
        (iam.Request("s3:PutObject", "arn:aws:s3:::b/models/dev/active.json"), False),
        (iam.Request("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "models/dev/v/"}), True),
        (iam.Request("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "models/prod/"}), False),
        (iam.Request("s3:ListBucket", "arn:aws:s3:::b"), False),
    ],
)
def test_evaluator_allows_only_matching_action_resource_and_condition(request_, allowed):
    assert iam.allows([MODELS, LISTING], request_) is allowed


def test_evaluator_resolves_subs_imports_and_parameters():
    value = {
        "Fn::Sub": [
            "${Bucket}/models/${Stage}/* in ${AWS::Region}",
            {"Bucket": {"Fn::ImportValue": {"Fn::Sub": "fraud-${Stage}-bucket-arn"}}},
        ]
    }

    resolved = iam.evaluate(value, {"Stage": "dev"}, {"fraud-dev-bucket-arn": "arn:aws:s3:::b"}.get)

    assert resolved == "arn:aws:s3:::b/models/dev/* in eu-west-1"


def test_a_transaction_needs_the_permission_of_each_of_its_actions():
    entry = {
        "method": "POST",
        "url": "http://127.0.0.1:5000/",
        "headers": {
            "Authorization": "AWS4-HMAC-SHA256 Credential=t/20250101/eu-west-1/dynamodb/aws4",
            "X-Amz-Target": "DynamoDB_20120810.TransactWriteItems",
        },
        "body": '{"TransactItems": [{"Put": {"TableName": "d"}}, {"Update": {"TableName": "s"}}]}',
    }

    assert iam.requests_of(entry) == [
        iam.Request("dynamodb:PutItem", f"arn:aws:dynamodb:{iam.REGION}:{iam.ACCOUNT}:table/d"),
        iam.Request("dynamodb:UpdateItem", f"arn:aws:dynamodb:{iam.REGION}:{iam.ACCOUNT}:table/s"),
    ]
