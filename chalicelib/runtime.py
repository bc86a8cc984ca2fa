"""The Lambda functions' factory: builds the concrete collaborators once per container.

Nothing is created at import time; the first invocation builds the service from
``Settings`` and later (warm) invocations reuse it, including the loaded model. Alert
delivery and reports are imported by their builders only: the scoring functions, whose
cold starts a payment waits for, never load them.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import aws, observability
from chalicelib.coldstart import collector_paused, thaw
from chalicelib.decision_log import DecisionLog
from chalicelib.errors import ConfigurationError
from chalicelib.features.online import OnlineFeatures
from chalicelib.identifiers import IdentifierHasher
from chalicelib.model.registry import ModelProvider, ModelRegistry, ModelUnavailableError
from chalicelib.rules import Schema
from chalicelib.rules.components import RuleComponents, build_components
from chalicelib.rules.dynamodb import DynamoListStore, DynamoRuleStore
from chalicelib.scoring import ScoringOptions, ScoringService
from chalicelib.settings import Settings
from chalicelib.state.dynamodb import DynamoStore

if TYPE_CHECKING:
    from chalicelib.delivery.service import AlertDelivery
    from chalicelib.reports.service import ReportService


class Runtime(NamedTuple):
    """Everything a handler needs."""

    settings: Settings
    service: ScoringService
    models: ModelProvider
    store: DynamoStore
    rules: RuleComponents


def identifier_key(settings: Settings, ssm: Any) -> bytes:
    """The identifier hashing key: from SSM Parameter Store when a parameter is named,
    otherwise from the environment (local stage only).

    Raises
    ------
    ConfigurationError
        Neither is configured, or the parameter cannot be read.
    """
    if settings.id_hash_key_parameter:
        try:
            response = ssm.get_parameter(Name=settings.id_hash_key_parameter, WithDecryption=True)
        except (ClientError, BotoCoreError) as exc:
            raise ConfigurationError(
                f"cannot read SSM parameter {settings.id_hash_key_parameter}: {exc}"
            ) from exc
        return response["Parameter"]["Value"].encode()
    if settings.id_hash_key:
        return settings.id_hash_key.encode()
    raise ConfigurationError("no identifier hashing key: set an SSM parameter name or a key")


def build(settings: Settings) -> Runtime:
    """Build the runtime for ``settings`` (AWS clients from ``chalicelib.aws``).

    The first transaction waits on what a cold start reads: the active model from S3,
    the hashing key from SSM and the rule set from DynamoDB. Each is read on a worker
    thread as soon as its client exists, so that the round trips overlap the CPU work of
    making the next client instead of following it. A model that cannot be served leaves
    the provider to answer as it does (``ModelUnavailableError``, logged); any other
    failure of its fetch, or of the key's, fails the build. A rule set that cannot be
    read or compiled is left to the first call of its provider, which reads it again
    and fails as the provider does.
    """

    def client(service: str) -> Any:
        return aws.client(service, settings.region, settings.endpoint_url)

    features = OnlineFeatures()
    registry = ModelRegistry(client("s3"), settings.bucket, settings.model_prefix)
    models = ModelProvider(
        registry, settings.model_refresh_seconds, available_features=features.names
    )
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="cold-read") as reader:
        first_model = reader.submit(models.current)
        ssm = client("ssm") if settings.id_hash_key_parameter else None
        key = reader.submit(identifier_key, settings, ssm)
        store = DynamoStore(
            client("dynamodb"),
            settings.decisions_table,
            settings.state_table,
            settings.config_table,
        )
        hasher = IdentifierHasher(key.result())
        rules = build_components(
            DynamoRuleStore(client("dynamodb"), settings.config_table),
            DynamoListStore(client("dynamodb"), settings.config_table),
            Schema.for_transaction(features.names),
            hasher,
            settings.rules_refresh_seconds,
            observability.count,
        )
        first_rules = reader.submit(rules.provider.current)
        with contextlib.suppress(ModelUnavailableError):
            first_model.result()
        first_rules.exception()  # waited for only: a failure is the first call's to report
    service = ScoringService(
        store=store,
        models=models,
        rules=rules.provider,
        features=features,
        hasher=hasher,
        options=ScoringOptions(
            review_threshold=settings.review_threshold,
            block_threshold=settings.block_threshold,
            review_cost=settings.review_cost,
            decision_retention_days=settings.decision_retention_days,
        ),
    )
    return Runtime(settings, service, models, store, rules)


def build_delivery(settings: Settings, client: Callable[[str], Any] | None = None) -> AlertDelivery:
    """The alert delivery of the alert functions (stream publisher, outbox drain, reports).

    ``client(service)`` makes AWS clients (default: ``chalicelib.aws``).

    Raises
    ------
    ConfigurationError
        No outbox queue is configured.
    """
    from chalicelib.delivery.dynamodb import DynamoAlertMarks
    from chalicelib.delivery.service import AlertDelivery
    from chalicelib.delivery.sns import SnsTopic
    from chalicelib.delivery.sqs import SqsOutbox

    make = client or (lambda service: aws.client(service, settings.region, settings.endpoint_url))
    if not settings.alerts_outbox_url:
        raise ConfigurationError(
            "the alert functions need an outbox queue (FRAUD_ALERTS_OUTBOX_URL)"
        )
    return AlertDelivery(
        topic=SnsTopic(make("sns"), settings.alerts_topic_arn),
        marks=DynamoAlertMarks(make("dynamodb"), settings.decisions_table),
        outbox=SqsOutbox(make("sqs"), settings.alerts_outbox_url),
        count=observability.count,
    )


def build_reports(settings: Settings) -> ReportService:
    """The daily reports of the stage (the report function and the reports route)."""
    from chalicelib.reports.service import ReportService
    from chalicelib.reports.store import S3ReportStore

    def client(service: str) -> Any:
        return aws.client(service, settings.region, settings.endpoint_url)

    registry = ModelRegistry(client("s3"), settings.bucket, settings.model_prefix)

    def active_manifest() -> tuple[str, dict[str, Any]] | None:
        active = registry.active()
        if not active:
            return None
        return active["version"], registry.manifest(active["version"])

    return ReportService(
        decisions=DecisionLog(client("dynamodb"), settings.decisions_table),
        store=S3ReportStore(client("s3"), settings.bucket, settings.reports_prefix),
        manifest=active_manifest,
        stage=settings.stage,
        psi_threshold=settings.drift_psi_threshold,
        recompute_days=settings.report_recompute_days,
    )


# Each is built once per container, with the cyclic collector paused (chalicelib.coldstart):
# botocore's clients and models are most of what a build allocates, and all of it stays.


@functools.cache
def current() -> Runtime:
    """The runtime of the scoring and API functions, built on first use."""
    with collector_paused():
        return build(Settings.from_environ())


@functools.cache
def delivery() -> AlertDelivery:
    """The alert delivery of this container, built on first use."""
    with collector_paused():
        return build_delivery(Settings.from_environ())


@functools.cache
def reports() -> ReportService:
    """The report service of this container, built on first use."""
    with collector_paused():
        return build_reports(Settings.from_environ())


def reset() -> None:
    """Forget the runtimes and AWS clients (tests switch environments), and give what
    the builds froze back to the collector."""
    current.cache_clear()
    delivery.cache_clear()
    reports.cache_clear()
    aws.reset_clients()
    thaw()
