"""Provision a stage's resources from ``infra/resources.yaml`` into an AWS endpoint (moto).

The template is the single description of the stateful resources: it is deployed as a
CloudFormation stack, and the properties moto's CloudFormation ignores (DynamoDB TTL,
bucket versioning) are then applied from the same template. Alarms and the bucket policy
(TLS only) matter on AWS only; moto's CloudFormation skips them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from chalicelib import settings
from fraudctl.deploy import templates
from fraudctl.deploy.templates import RESOURCES_TEMPLATE as TEMPLATE


@dataclass(frozen=True)
class StackResources:
    """Names and addresses of one stage's resources."""

    stage: str
    region: str
    bucket: str
    decisions_table: str
    state_table: str
    config_table: str
    scoring_queue_url: str
    dead_letter_queue_url: str
    alerts_topic_arn: str
    alerts_outbox_url: str
    alerts_outbox_dlq_url: str
    decisions_stream_arn: str

    @property
    def tables(self) -> dict[str, str]:
        """Table names by role."""
        return {
            "decisions": self.decisions_table,
            "state": self.state_table,
            "config": self.config_table,
        }

    def environment(self, endpoint_url: str | None) -> dict[str, str]:
        """Environment variables that point the application at these resources."""
        env = {
            settings.ENV_STAGE: self.stage,
            settings.ENV_REGION: self.region,
            settings.ENV_DEFAULT_REGION: self.region,
            settings.ENV_DECISIONS_TABLE: self.decisions_table,
            settings.ENV_STATE_TABLE: self.state_table,
            settings.ENV_CONFIG_TABLE: self.config_table,
            settings.ENV_BUCKET: self.bucket,
            settings.ENV_MODEL_PREFIX: f"models/{self.stage}",
            settings.ENV_ALERTS_TOPIC_ARN: self.alerts_topic_arn,
            settings.ENV_ALERTS_OUTBOX_URL: self.alerts_outbox_url,
            settings.ENV_DECISIONS_STREAM_ARN: self.decisions_stream_arn,
        }
        if endpoint_url:
            env[settings.ENV_ENDPOINT_URL] = endpoint_url
        return env

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_OUTPUTS = {
    "ArtifactsBucketName": "bucket",
    "DecisionsTableName": "decisions_table",
    "StateTableName": "state_table",
    "ConfigTableName": "config_table",
    "ScoringQueueUrl": "scoring_queue_url",
    "ScoringDeadLetterQueueUrl": "dead_letter_queue_url",
    "AlertsTopicArn": "alerts_topic_arn",
    "AlertsOutboxQueueUrl": "alerts_outbox_url",
    "AlertsOutboxDeadLetterQueueUrl": "alerts_outbox_dlq_url",
    "DecisionsStreamArn": "decisions_stream_arn",
}
QUEUE_URLS = (
    "scoring_queue_url",
    "dead_letter_queue_url",
    "alerts_outbox_url",
    "alerts_outbox_dlq_url",
)


def provision(session: Any, stage: str, endpoint_url: str | None = None) -> StackResources:
    """Create (or reuse) the stage's stack and return its resources.

    Parameters
    ----------
    session:
        A boto3 session (region and credentials; fake ones for moto).
    stage:
        Stage name (``local`` for ``make run``).
    endpoint_url:
        AWS endpoint override (the moto server), ``None`` inside ``mock_aws``.
    """
    template = templates.load(TEMPLATE)
    cloudformation = session.client("cloudformation", endpoint_url=endpoint_url)
    stack_name = f"fraud-{stage}"
    existing = {
        s["StackName"]
        for s in cloudformation.list_stacks()["StackSummaries"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    }
    if stack_name not in existing:
        cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=TEMPLATE.read_text(),
            Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}],
        )
        cloudformation.get_waiter("stack_create_complete").wait(
            StackName=stack_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    values = {field: outputs[key] for key, field in _OUTPUTS.items()}
    if endpoint_url:
        # Queue URLs as the endpoint serves them, usable as they are with --endpoint-url.
        sqs = session.client("sqs", endpoint_url=endpoint_url)
        for field in QUEUE_URLS:
            name = values[field].rsplit("/", 1)[-1]
            values[field] = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    resources = StackResources(stage=stage, region=session.region_name, **values)
    _apply_ignored_properties(session, endpoint_url, template, resources)
    return resources


def _apply_ignored_properties(
    session: Any, endpoint_url: str | None, template: dict[str, Any], resources: StackResources
) -> None:
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    s3 = session.client("s3", endpoint_url=endpoint_url)
    table_names = {
        "DecisionsTable": resources.decisions_table,
        "StateTable": resources.state_table,
        "ConfigTable": resources.config_table,
    }
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        ttl = properties.get("TimeToLiveSpecification")
        if resource["Type"] == "AWS::DynamoDB::Table" and ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=table_names[logical_id],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        versioning = properties.get("VersioningConfiguration")
        if resource["Type"] == "AWS::S3::Bucket" and versioning:
            s3.put_bucket_versioning(
                Bucket=resources.bucket,
                VersioningConfiguration={"Status": versioning["Status"]},
            )
