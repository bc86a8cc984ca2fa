"""The merge template: ``infra/app.yaml`` plus what every function of the app needs.

Chalice generates one SAM function per handler (the API handler, each event handler)
and, with ``autogen_policy`` off, one role per function. For each function this module
adds to ``infra/app.yaml``:

* ``FunctionName`` ``fraud-<stage>-<function>``, and its log group's name from it (so the
  role can name its log group; Chalice's own name of the API handler's log group refers
  to a resource it renamed);
* the role's policies: its own log group, then the documents ``infra/policies.yaml``
  lists for it;
* alarms on its errors and throttles;
* on an SQS event source: ``FunctionResponseTypes: [ReportBatchItemFailures]`` (partial
  batch responses; Chalice does not set it) and the event source's concurrency cap;
* on the DynamoDB stream event source (the decisions table's, the app's only one): the
  stream imported from the resources stack (Chalice writes the ARN it was given at
  packaging time), a filter passing only insertions that ask for an alert, partial batch
  responses, and an alarm on the iterator age (alerts falling behind).

Names of Chalice's resources follow its SAM packager (``chalice.package``);
``check_merged`` verifies after packaging that every addition landed on a resource
Chalice generated.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.app import Chalice, DynamoDBEventConfig, SQSEventConfig
from chalice.utils import to_cfn_resource_name

from chalicelib.delivery.stream import ALERT_FILTER_PATTERN
from fraudctl.deploy import templates
from fraudctl.errors import CommandError

API_HANDLER = "api_handler"
POLICY_VERSION = "2012-10-17"
LAMBDA_ALARMS = ("Errors", "Throttles")
DECISIONS_STREAM_EXPORT = "fraud-${Stage}-decisions-stream-arn"
ITERATOR_AGE_ALARM_MS = 300_000


class PackagingError(CommandError):
    """The app, the merge template or the packaged template are not consistent."""


@dataclass(frozen=True)
class Function:
    """A Lambda function of the Chalice app.

    Attributes
    ----------
    name:
        Chalice's name: ``api_handler`` for the routes, the handler's name otherwise.
    sqs:
        Whether an SQS queue triggers it.
    """

    name: str
    sqs: bool = False
    stream: bool = False

    @property
    def logical_id(self) -> str:
        """The function's resource in Chalice's SAM template."""
        return "APIHandler" if self.name == API_HANDLER else to_cfn_resource_name(self.name)

    @property
    def role_logical_id(self) -> str:
        return to_cfn_resource_name(f"{self.name}_role")

    @property
    def log_group_logical_id(self) -> str:
        return to_cfn_resource_name(f"{self.name}-log-group")

    @property
    def sqs_event_id(self) -> str:
        return to_cfn_resource_name(f"{self.name}-sqs-event-source")

    @property
    def stream_event_id(self) -> str:
        return to_cfn_resource_name(f"{self.name}-dynamodb-event-source")

    def function_name(self) -> dict[str, str]:
        """The deployed function's name (CloudFormation, per stage)."""
        return {"Fn::Sub": "fraud-${Stage}-" + self.name.replace("_", "-")}


def app_functions(app: Chalice) -> list[Function]:
    """The Lambda functions Chalice packages for ``app``."""
    functions = [Function(API_HANDLER)] if app.routes else []
    functions += [
        Function(
            source.name,
            sqs=isinstance(source, SQSEventConfig),
            stream=isinstance(source, DynamoDBEventConfig),
        )
        for source in app.event_sources
    ]
    functions += [Function(function.name) for function in app.pure_lambda_functions]
    if app.websocket_handlers:
        raise PackagingError("websocket handlers are not supported by infra/app.yaml")
    return functions


def render(
    stage: str,
    functions: list[Function],
    app_template: Path = templates.APP_TEMPLATE,
    policies: Path = templates.POLICIES,
) -> dict[str, Any]:
    """The merge template of ``stage`` for ``functions``.

    Raises
    ------
    PackagingError
        A function has no entry in ``policies`` (or an entry names no function), or an
        entry names an unknown policy document.
    """
    template = templates.load(app_template)
    template["Parameters"]["Stage"].update(Default=stage, AllowedValues=[stage])
    catalogue = templates.load(policies)
    _check_coverage(functions, catalogue, policies)
    for function in functions:
        for logical_id, resource in _function_resources(function, catalogue).items():
            template["Resources"].setdefault(logical_id, {}).update(resource)
    return template


def _check_coverage(functions: list[Function], catalogue: dict[str, Any], path: Path) -> None:
    listed = catalogue["functions"]
    names = {f.name for f in functions}
    if missing := sorted(names - set(listed)):
        raise PackagingError(f"functions without an IAM policy in {path}: {', '.join(missing)}")
    if stale := sorted(set(listed) - names):
        raise PackagingError(f"{path} lists functions the app does not have: {', '.join(stale)}")
    for name, documents in listed.items():
        if unknown := sorted(set(documents) - set(catalogue["documents"])):
            raise PackagingError(f"{name} in {path}: unknown documents {', '.join(unknown)}")


def _function_resources(function: Function, catalogue: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {"FunctionName": function.function_name()}
    if function.sqs:
        properties["Events"] = {
            function.sqs_event_id: {
                "Properties": {
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    "ScalingConfig": {"MaximumConcurrency": {"Ref": "ScoringQueueMaxConcurrency"}},
                }
            }
        }
    if function.stream:
        properties["Events"] = {
            function.stream_event_id: {
                "Properties": {
                    "Stream": {"Fn::ImportValue": {"Fn::Sub": DECISIONS_STREAM_EXPORT}},
                    "FilterCriteria": {"Filters": [{"Pattern": ALERT_FILTER_PATTERN}]},
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                }
            }
        }
    policies = [_policy("logs", [_log_statement(function)])]
    policies += [
        _policy(name, catalogue["documents"][name])
        for name in catalogue["functions"][function.name]
    ]
    log_group = {"Fn::Sub": ["/aws/lambda/${Name}", {"Name": function.function_name()}]}
    resources = {
        function.logical_id: {"Properties": properties},
        function.role_logical_id: {"Properties": {"Policies": policies}},
        function.log_group_logical_id: {"Properties": {"LogGroupName": log_group}},
    }
    for metric in LAMBDA_ALARMS:
        resources[f"{function.logical_id}{metric}Alarm"] = _alarm(function, metric)
    if function.stream:
        alarm = _alarm(
            function, "IteratorAge", statistic="Maximum", threshold=ITERATOR_AGE_ALARM_MS
        )
        resources[f"{function.logical_id}IteratorAgeAlarm"] = alarm
    return resources


def _policy(name: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "PolicyName": name,
        "PolicyDocument": {"Version": POLICY_VERSION, "Statement": statements},
    }


def _log_statement(function: Function) -> dict[str, Any]:
    return {
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": {
            "Fn::Sub": [
                "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}"
                ":log-group:/aws/lambda/${Name}:*",
                {"Name": function.function_name()},
            ]
        },
    }


def _alarm(
    function: Function, metric: str, statistic: str = "Sum", threshold: float = 0
) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": {
                "Fn::Sub": [
                    "${Name}-" + metric.lower(),
                    {"Name": function.function_name()},
                ]
            },
            "AlarmDescription": f"{metric} of the {function.name} function.",
            "Namespace": "AWS/Lambda",
            "MetricName": metric,
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function.logical_id}}],
            "Statistic": statistic,
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": {
                "Fn::If": ["NotifyAlarms", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
            },
        },
    }


def check_merged(sam: dict[str, Any], functions: list[Function]) -> None:
    """Verify that the merge landed on Chalice's resources in the packaged template ``sam``.

    Raises
    ------
    PackagingError
        A merged resource or event source has no ``Type`` (Chalice named it otherwise),
        or a function of the template is not one of ``functions``.
    """
    resources = sam["Resources"]
    if untyped := sorted(k for k, v in resources.items() if "Type" not in v):
        raise PackagingError(f"merged onto resources Chalice did not generate: {untyped}")
    packaged = {k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    if packaged != {f.logical_id for f in functions}:
        raise PackagingError(f"packaged functions {sorted(packaged)} differ from the app's")
    for function in functions:
        for name, event in resources[function.logical_id]["Properties"].get("Events", {}).items():
            if "Type" not in event:
                raise PackagingError(f"merged onto an event Chalice did not generate: {name}")
