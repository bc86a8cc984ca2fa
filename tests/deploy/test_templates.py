"""The templates `make package` writes: valid CloudFormation, wired as the service needs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app import app
from chalicelib.settings import ENV_ID_HASH_KEY, ENV_ID_HASH_KEY_PARAMETER, Settings
from fraudctl.deploy import merge, templates
from fraudctl.deploy.package import CHALICE_CONFIG, DEPLOYED_STAGES, stage_config
from tests.deploy import iam
from tests.deploy.conftest import resources_of_type

CFN_LINT = Path(sys.executable).with_name("cfn-lint")


def cfn_lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(CFN_LINT), str(path)], capture_output=True, text=True)


def exports(stage: str) -> set[str]:
    """Names the resources stack of ``stage`` exports."""
    outputs = templates.load(templates.RESOURCES_TEMPLATE)["Outputs"].values()
    return {o["Export"]["Name"]["Fn::Sub"].replace("${Stage}", stage) for o in outputs}


def resolve(value: Any, stage: str) -> Any:
    """A template value evaluated for ``stage``; an import becomes ``import:<export name>``."""
    return iam.evaluate(value, {"Stage": stage}, lambda name: f"import:{name}")


def imports(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        if "Fn::ImportValue" in value:
            yield value["Fn::ImportValue"]
        for inner in value.values():
            yield from imports(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from imports(inner)


def test_resources_template_passes_cfn_lint():
    result = cfn_lint(templates.RESOURCES_TEMPLATE)

    assert result.returncode == 0, result.stdout + result.stderr


def test_functions_template_expanded_from_sam_passes_cfn_lint(expanded, tmp_path):
    path = tmp_path / "expanded.json"
    path.write_text(json.dumps(expanded))

    result = cfn_lint(path)

    assert result.returncode == 0, result.stdout + result.stderr


def event_sources(expanded: dict[str, Any], function_id: str) -> list[dict[str, Any]]:
    mappings = resources_of_type(expanded, "AWS::Lambda::EventSourceMapping").values()
    return [m for m in mappings if m["Properties"]["FunctionName"] == {"Ref": function_id}]


def test_only_the_queue_and_the_alert_publisher_have_event_source_mappings(expanded):
    mappings = resources_of_type(expanded, "AWS::Lambda::EventSourceMapping").values()

    assert sorted(m["Properties"]["FunctionName"]["Ref"] for m in mappings) == [
        "PublishAlerts",
        "ScoreQueue",
    ]


def test_alert_publisher_reads_the_decisions_stream_filtered_on_alert_insertions(
    packaged, expanded
):
    from chalicelib.delivery.stream import ALERT_FILTER_PATTERN

    (mapping,) = event_sources(expanded, "PublishAlerts")
    properties = mapping["Properties"]

    assert resolve(properties["EventSourceArn"], packaged.stage) == (
        f"import:fraud-{packaged.stage}-decisions-stream-arn"
    )
    assert properties["FilterCriteria"] == {"Filters": [{"Pattern": ALERT_FILTER_PATTERN}]}
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["StartingPosition"] == "TRIM_HORIZON"
    alarms = resources_of_type(expanded, "AWS::CloudWatch::Alarm").values()
    assert any(
        a["Properties"]["MetricName"] == "IteratorAge"
        and a["Properties"]["Dimensions"][0]["Value"] == {"Ref": "PublishAlerts"}
        for a in alarms
    )


def test_scheduled_functions_run_the_drain_every_minute_and_the_report_daily(expanded):
    rules = resources_of_type(expanded, "AWS::Events::Rule").values()
    schedules = {
        r["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]: r["Properties"]["ScheduleExpression"]
        for r in rules
    }

    assert schedules == {
        "DrainAlertOutbox": "rate(1 minute)",
        "DailyReport": "cron(30 0 * * ? *)",
    }


def test_sqs_event_source_reports_batch_item_failures_on_the_stage_queue(packaged, expanded):
    (mapping,) = event_sources(expanded, "ScoreQueue")
    properties = mapping["Properties"]
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["FunctionName"] == {"Ref": "ScoreQueue"}
    queue = templates.scoring_queue_name(packaged.stage)
    assert properties["EventSourceArn"]["Fn::Sub"].endswith(f":{queue}")
    assert properties["ScalingConfig"] == {
        "MaximumConcurrency": {"Ref": "ScoringQueueMaxConcurrency"}
    }


def test_scoring_needs_an_api_key_and_every_other_route_but_health_iam(packaged):
    swagger = packaged.sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]

    security = {
        (path, method): operation.get("security")
        for path, operations in swagger["paths"].items()
        for method, operation in operations.items()
    }

    assert security.pop(("/v1/score", "post")) == [{"api_key": []}]
    assert security.pop(("/v1/health", "get")) is None
    assert security  # the analyst routes
    assert set(map(json.dumps, security.values())) == {json.dumps([{"sigv4": []}])}


def test_api_key_usage_plan_throttles_and_limits_the_rest_api_stage(expanded):
    ((plan_id, plan),) = resources_of_type(expanded, "AWS::ApiGateway::UsagePlan").items()
    ((stage_id, stage),) = resources_of_type(expanded, "AWS::ApiGateway::Stage").items()
    ((key_id, _),) = resources_of_type(expanded, "AWS::ApiGateway::ApiKey").items()
    (binding,) = resources_of_type(expanded, "AWS::ApiGateway::UsagePlanKey").values()

    assert plan["Properties"]["ApiStages"] == [
        {"ApiId": {"Ref": "RestAPI"}, "Stage": {"Ref": stage_id}}
    ]
    assert stage["Properties"]["RestApiId"] == {"Ref": "RestAPI"}
    assert set(plan["Properties"]["Throttle"]) == {"RateLimit", "BurstLimit"}
    assert plan["Properties"]["Quota"]["Period"] == "DAY"
    assert binding["Properties"] == {
        "KeyId": {"Ref": key_id},
        "KeyType": "API_KEY",
        "UsagePlanId": {"Ref": plan_id},
    }


def test_every_import_names_an_export_of_the_stage_resources_stack(packaged, expanded):
    names = {resolve(name, packaged.stage) for name in imports(expanded)}

    assert names
    assert names <= exports(packaged.stage)


def test_functions_get_every_setting_from_their_environment(packaged, expanded):
    functions = resources_of_type(expanded, "AWS::Lambda::Function")

    for function in functions.values():
        variables = function["Properties"]["Environment"]["Variables"]
        env = {name: resolve(value, packaged.stage) for name, value in variables.items()}
        settings = Settings.from_environ(env)
        assert settings.stage == packaged.stage
        assert settings.decisions_table == f"import:fraud-{packaged.stage}-decisions-table"
        assert settings.id_hash_key is None
        assert settings.id_hash_key_parameter == f"/fraud/{packaged.stage}/id-hash-key"
        assert all(isinstance(value, str) for value in env.values())


def test_deployed_stages_name_the_hashing_key_parameter_never_the_key():
    config = json.loads(CHALICE_CONFIG.read_text())
    text = json.dumps(config)

    assert ENV_ID_HASH_KEY_PARAMETER not in text  # set by the stack, not by config
    assert f'"{ENV_ID_HASH_KEY}"' not in text
    for stage in DEPLOYED_STAGES:
        assert stage_config(stage).autogen_policy is False


def test_local_stage_sets_nothing_that_overrides_the_test_environment():
    config = json.loads(CHALICE_CONFIG.read_text())

    assert "environment_variables" not in config
    assert config["stages"]["local"].get("environment_variables", {}) == {}
    assert "lambda_functions" not in config


def test_scoring_queue_visibility_is_six_times_the_sqs_function_timeout():
    parameter = templates.load(templates.RESOURCES_TEMPLATE)["Parameters"][
        "ScoringQueueVisibilityTimeoutSeconds"
    ]
    sqs_functions = [f for f in merge.app_functions(app) if f.sqs]

    assert sqs_functions
    for stage in DEPLOYED_STAGES:
        for function in sqs_functions:
            timeout = stage_config(stage, function.name).lambda_timeout
            assert parameter["Default"] >= 6 * timeout
            assert parameter["MinValue"] >= 6 * timeout


def test_functions_run_python312_on_the_stage_architecture(packaged, expanded):
    functions = resources_of_type(expanded, "AWS::Lambda::Function")

    assert {f["Properties"]["Runtime"] for f in functions.values()} == {"python3.12"}
    for function in functions.values():
        assert function["Properties"]["Architectures"] == [packaged.architecture]
        assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}


def test_each_function_logs_to_its_own_group_and_alarms_on_errors_and_throttles(expanded):
    functions = resources_of_type(expanded, "AWS::Lambda::Function")
    groups = [
        g["Properties"]["LogGroupName"]
        for g in resources_of_type(expanded, "AWS::Logs::LogGroup").values()
    ]
    alarms = resources_of_type(expanded, "AWS::CloudWatch::Alarm").values()
    watched = {
        (a["Properties"]["Dimensions"][0]["Value"]["Ref"], a["Properties"]["MetricName"])
        for a in alarms
    }

    for logical_id, function in functions.items():
        name = function["Properties"]["FunctionName"]
        assert {"Fn::Sub": ["/aws/lambda/${Name}", {"Name": name}]} in groups
        assert {(logical_id, "Errors"), (logical_id, "Throttles")} <= watched


def test_dead_letter_queues_and_the_outbox_age_have_alarms():
    resources = templates.load(templates.RESOURCES_TEMPLATE)["Resources"]

    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]

    watched = {
        (a["Dimensions"][0]["Value"]["Fn::GetAtt"][0], a["MetricName"])
        for a in alarms
        if a["Namespace"] == "AWS/SQS"
    }
    assert watched == {
        ("ScoringDeadLetterQueue", "ApproximateNumberOfMessagesVisible"),
        ("AlertsOutboxDeadLetterQueue", "ApproximateNumberOfMessagesVisible"),
        ("AlertsOutboxQueue", "ApproximateAgeOfOldestMessage"),
    }


def test_outbox_visibility_is_twice_the_drain_timeout():
    parameter = templates.load(templates.RESOURCES_TEMPLATE)["Parameters"][
        "OutboxVisibilityTimeoutSeconds"
    ]

    for stage in DEPLOYED_STAGES:
        timeout = stage_config(stage, "drain_alert_outbox").lambda_timeout
        assert parameter["MinValue"] >= 2 * timeout
