"""A small IAM evaluator for the tests: template values, the AWS requests a run made, and
whether a role's statements allow them.

It knows what the functions call (DynamoDB, S3, SNS, SSM, SQS) and refuses anything else
by name, so that a new kind of call is mapped here before it is trusted.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's
PSEUDO = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"}


def evaluate(value: Any, parameters: dict[str, str], imports: Callable[[str], str]) -> Any:
    """``value`` with ``Ref``, ``Fn::Sub`` and ``Fn::ImportValue`` evaluated.

    ``parameters`` gives template parameters (pseudo parameters are added); ``imports``
    maps an export name to its value.
    """
    scope = {**PSEUDO, **parameters}
    if isinstance(value, list):
        return [evaluate(v, parameters, imports) for v in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        return scope[value["Ref"]]
    if "Fn::ImportValue" in value:
        return imports(evaluate(value["Fn::ImportValue"], parameters, imports))
    if "Fn::Sub" in value:
        text, local = value["Fn::Sub"], {}
        if isinstance(text, list):
            text, variables = text
            local = {k: evaluate(v, parameters, imports) for k, v in variables.items()}
        names = {**scope, **local}
        return re.sub(r"\$\{([^}]+)\}", lambda m: names[m[1]], text)
    return {k: evaluate(v, parameters, imports) for k, v in value.items()}


@dataclass(frozen=True)
class Request:
    """One IAM authorisation a call needs: action, resource ARN, condition keys."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)


def _table(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def _dynamodb(operation: str, payload: dict[str, Any]) -> list[Request]:
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Request(f"dynamodb:{operation}", _table(t)) for t in payload["RequestItems"]]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return [
            Request(f"dynamodb:{_TRANSACT_ACTIONS[kind]}", _table(action["TableName"]))
            for item in payload["TransactItems"]
            for kind, action in item.items()
        ]
    resource = _table(payload["TableName"])
    if "IndexName" in payload:
        resource += f"/index/{payload['IndexName']}"
    return [Request(f"dynamodb:{operation}", resource)]


def _s3(method: str, path: str, query: dict[str, list[str]]) -> list[Request]:
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if method == "GET" and key:
        return [Request("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}")]
    if method == "PUT" and key:
        return [Request("s3:PutObject", f"arn:aws:s3:::{bucket}/{key}")]
    if method == "GET" and "list-type" in query:
        prefix = query.get("prefix", [""])[0]
        return [Request("s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": prefix})]
    raise ValueError(f"unmapped S3 call {method} {path}")


_SQS_ACTIONS = {
    "SendMessage": "SendMessage",
    "SendMessageBatch": "SendMessage",
    "ReceiveMessage": "ReceiveMessage",
    "DeleteMessage": "DeleteMessage",
    "DeleteMessageBatch": "DeleteMessage",
}


def _sqs(operation: str, payload: dict[str, Any]) -> list[Request]:
    account, name = urlsplit(payload["QueueUrl"]).path.strip("/").split("/")
    arn = f"arn:aws:sqs:{REGION}:{account}:{name}"
    return [Request(f"sqs:{_SQS_ACTIONS[operation]}", arn)]


def requests_of(entry: dict[str, Any]) -> list[Request]:
    """The authorisations one recorded request (moto's recorder format) needs."""
    headers = {k.lower(): v for k, v in entry["headers"].items()}
    service = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", headers["authorization"])[1]
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode()
    url = urlsplit(entry["url"])
    if service == "s3":
        return _s3(entry["method"], url.path, parse_qs(url.query))
    target = headers.get("x-amz-target", "")
    operation = target.rsplit(".", 1)[-1]
    if service == "dynamodb":
        return _dynamodb(operation, json.loads(body))
    if service == "sqs" and operation in _SQS_ACTIONS:
        return _sqs(operation, json.loads(body))
    if service == "ssm" and operation == "GetParameter":
        name = json.loads(body)["Name"]
        return [Request("ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}")]
    form = {k: v[0] for k, v in parse_qs(body).items()}
    if service == "sns" and form.get("Action") == "Publish":
        return [Request("sns:Publish", form["TopicArn"])]
    raise ValueError(f"unmapped {service} call {target or form.get('Action')}")


def _matches(pattern: str, value: str, ignore_case: bool = False) -> bool:
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _condition_holds(condition: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in condition.items():
        for key, expected in tests.items():
            if key not in context:
                return False
            values = expected if isinstance(expected, list) else [expected]
            if operator == "StringLike":
                if not any(_matches(v, context[key]) for v in values):
                    return False
            elif operator == "StringEquals":
                if context[key] not in values:
                    return False
            else:
                return False  # an operator this evaluator does not know grants nothing
    return True


def allows(statements: Iterable[dict[str, Any]], request: Request) -> bool:
    """Whether evaluated ``statements`` (no Deny, no NotAction) allow ``request``."""
    for statement in statements:
        actions = statement["Action"]
        resources = statement["Resource"]
        if (
            statement["Effect"] == "Allow"
            and any(_matches(a, request.action, ignore_case=True) for a in _as_list(actions))
            and any(_matches(r, request.resource) for r in _as_list(resources))
            and _condition_holds(statement.get("Condition", {}), request.context)
        ):
            return True
    return False


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
