"""Where a command's AWS calls go: the local stack, or a deployed stage.

Without ``--endpoint-url``, ``--bucket`` or ``FRAUD_BUCKET`` in the environment, commands
talk to the stack ``make run`` started (``.local/stack.json``, fake credentials).
Otherwise they talk to AWS (or the given endpoint) with the usual credential chain; the
stage's names come from the options or the stage's environment (``FRAUD_BUCKET``,
``FRAUD_STAGE``, ``FRAUD_MODEL_PREFIX``, ``FRAUD_DECISIONS_TABLE``, ``AWS_REGION``,
``AWS_ENDPOINT_URL``). ``--stage S`` selects the registry prefix ``models/S``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

from chalicelib import settings
from chalicelib.decision_log import DecisionLog
from chalicelib.model.registry import ModelRegistry
from chalicelib.reports.store import S3ReportStore
from fraudctl.errors import CommandError
from fraudctl.stackinfo import LOCAL_CREDENTIALS, load_stack


@dataclass(frozen=True)
class Target:
    """A stage's AWS endpoint and resource names."""

    region: str
    endpoint_url: str | None
    bucket: str
    model_prefix: str
    decisions_table: str | None
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    stage: str = "local"

    def client(self, service: str) -> Any:
        return boto3.client(
            service, region_name=self.region, endpoint_url=self.endpoint_url, **self.credentials
        )

    def registry(self) -> ModelRegistry:
        return ModelRegistry(self.client("s3"), self.bucket, self.model_prefix)

    def decisions(self) -> DecisionLog:
        """The stage's decisions by day (``CommandError`` when no table is named)."""
        if not self.decisions_table:
            raise CommandError(
                f"name the decisions table: --decisions-table or {settings.ENV_DECISIONS_TABLE}"
            )
        return DecisionLog(self.client("dynamodb"), self.decisions_table)

    def reports(self) -> S3ReportStore:
        """The stage's daily reports in the bucket (``reports/<stage>``)."""
        return S3ReportStore(self.client("s3"), self.bucket, f"reports/{self.stage}")


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("where (default: the local stack of `make run`)")
    group.add_argument("--stage", help="stage whose registry to use (prefix models/STAGE)")
    group.add_argument("--endpoint-url", help="AWS endpoint (a moto server)")
    group.add_argument("--region", help="AWS region (default AWS_REGION)")
    group.add_argument("--bucket", help="artifacts bucket (default FRAUD_BUCKET)")
    group.add_argument("--decisions-table", help="decisions table (default FRAUD_DECISIONS_TABLE)")


def resolve_target(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Target:
    """The target the options and environment name (see the module).

    Raises
    ------
    CommandError
        No bucket is named and no local stack is running.
    """
    env = os.environ if environ is None else environ
    if not (args.endpoint_url or args.bucket or env.get(settings.ENV_BUCKET)):
        stack = load_stack()
        stage = args.stage or stack.get("stage", "local")
        return Target(
            region=stack["region"],
            endpoint_url=stack["endpoint_url"],
            bucket=stack["bucket"],
            model_prefix=f"models/{stage}",
            decisions_table=args.decisions_table or stack["tables"]["decisions"],
            credentials=LOCAL_CREDENTIALS,
            stage=stage,
        )
    bucket = args.bucket or env.get(settings.ENV_BUCKET)
    if not bucket:
        raise CommandError(f"name the bucket: --bucket or {settings.ENV_BUCKET}")
    stage = args.stage or env.get(settings.ENV_STAGE, "local")
    if args.stage:
        prefix = f"models/{args.stage}"
    else:
        prefix = env.get(settings.ENV_MODEL_PREFIX) or f"models/{stage}"
    return Target(
        region=args.region
        or env.get(settings.ENV_REGION)
        or env.get(settings.ENV_DEFAULT_REGION)
        or settings.DEFAULT_REGION,
        endpoint_url=args.endpoint_url or env.get(settings.ENV_ENDPOINT_URL) or None,
        bucket=bucket,
        model_prefix=prefix.rstrip("/"),
        decisions_table=args.decisions_table or env.get(settings.ENV_DECISIONS_TABLE),
        stage=stage,
    )
