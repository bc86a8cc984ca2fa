"""Runtime configuration: every environment variable name lives here, read at the edge only.

``Settings.from_environ`` is called once per entry point (Lambda cold start, CLI command,
local stack); pure code receives the resulting values, never ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from chalicelib.errors import ConfigurationError

# Environment variable names (the only place they are spelled out).
ENV_STAGE = "FRAUD_STAGE"
ENV_REGION = "AWS_REGION"
ENV_DEFAULT_REGION = "AWS_DEFAULT_REGION"
ENV_ENDPOINT_URL = "AWS_ENDPOINT_URL"
ENV_DECISIONS_TABLE = "FRAUD_DECISIONS_TABLE"
ENV_STATE_TABLE = "FRAUD_STATE_TABLE"
ENV_CONFIG_TABLE = "FRAUD_CONFIG_TABLE"
ENV_BUCKET = "FRAUD_BUCKET"
ENV_MODEL_PREFIX = "FRAUD_MODEL_PREFIX"
ENV_MODEL_REFRESH_SECONDS = "FRAUD_MODEL_REFRESH_SECONDS"
ENV_RULES_REFRESH_SECONDS = "FRAUD_RULES_REFRESH_SECONDS"
ENV_ALERTS_TOPIC_ARN = "FRAUD_ALERTS_TOPIC_ARN"
ENV_DEFAULT_CURRENCY = "FRAUD_DEFAULT_CURRENCY"
ENV_REVIEW_THRESHOLD = "FRAUD_REVIEW_THRESHOLD"
ENV_BLOCK_THRESHOLD = "FRAUD_BLOCK_THRESHOLD"
ENV_REVIEW_COST = "FRAUD_REVIEW_COST"
ENV_ID_HASH_KEY = "FRAUD_ID_HASH_KEY"
ENV_ID_HASH_KEY_PARAMETER = "FRAUD_ID_HASH_KEY_PARAMETER"
ENV_DECISION_RETENTION_DAYS = "FRAUD_DECISION_RETENTION_DAYS"
ENV_SCORING_QUEUE = "FRAUD_SCORING_QUEUE"
ENV_DECISIONS_STREAM_ARN = "FRAUD_DECISIONS_STREAM_ARN"
ENV_ALERTS_OUTBOX_URL = "FRAUD_ALERTS_OUTBOX_URL"
ENV_DRIFT_PSI_THRESHOLD = "FRAUD_DRIFT_PSI_THRESHOLD"
ENV_REPORT_RECOMPUTE_DAYS = "FRAUD_REPORT_RECOMPUTE_DAYS"

DEFAULT_REGION = "eu-west-1"
DEFAULT_CURRENCY = "EUR"
DEFAULT_MODEL_REFRESH_SECONDS = 30.0
DEFAULT_RULES_REFRESH_SECONDS = 15.0
DEFAULT_DECISION_RETENTION_DAYS = 400
DEFAULT_SCORING_QUEUE = "fraud-dev-scoring"
# Packaging replaces it with the stage's stream (an import of the resources stack).
DEFAULT_DECISIONS_STREAM_ARN = (
    "arn:aws:dynamodb:eu-west-1:000000000000:table/fraud-dev-decisions/stream/unset"
)
DEFAULT_DRIFT_PSI_THRESHOLD = 0.25
DEFAULT_REPORT_RECOMPUTE_DAYS = 7


class Settings(NamedTuple):
    """Names of the AWS resources and the knobs of one deployment stage.

    Attributes
    ----------
    stage:
        Deployment stage (``local``, ``dev``, ``prod``).
    region:
        AWS region of every client.
    endpoint_url:
        Override for every AWS endpoint (a moto server locally), ``None`` on AWS.
    decisions_table, state_table, config_table:
        DynamoDB table names: decisions (idempotency + audit), velocity state, rules and lists.
    bucket:
        S3 bucket holding model versions and reports.
    model_prefix:
        Key prefix of this stage's model registry; the active version is named by
        ``{model_prefix}/active.json``.
    model_refresh_seconds:
        How long a warm function trusts its cached active-model pointer.
    alerts_topic_arn:
        SNS topic receiving one alert per review/block decision.
    default_currency:
        ISO-4217 code assumed when a transaction omits ``currency``.
    review_threshold, block_threshold:
        Optional per-stage overrides of the model's own decision thresholds.
    review_cost:
        Optional per-stage cost of a review: transactions whose expected loss (score x
        amount) reaches it are reviewed (overrides the model's cost-based review).
    id_hash_key, id_hash_key_parameter:
        Key for hashing personal identifiers, given directly (local stage only) or as
        the name of an SSM SecureString parameter (deployed stages).
    decision_retention_days:
        Days a decision record is kept before DynamoDB TTL removes it.
    rules_refresh_seconds:
        How long a warm function trusts its rule set before reading the head again.
    alerts_outbox_url:
        SQS queue holding alerts that could not be published (drained on a schedule);
        required by the alert functions only.
    drift_psi_threshold:
        Population stability index at or above which the daily report raises a drift alert.
    report_recompute_days:
        The daily report also recomputes the report of this many days before yesterday,
        when most of that day's labels have arrived (0: yesterday only).
    """

    stage: str
    region: str
    endpoint_url: str | None
    decisions_table: str
    state_table: str
    config_table: str
    bucket: str
    model_prefix: str
    model_refresh_seconds: float
    alerts_topic_arn: str
    default_currency: str
    review_threshold: float | None
    block_threshold: float | None
    review_cost: float | None
    id_hash_key: str | None
    id_hash_key_parameter: str | None
    decision_retention_days: int
    rules_refresh_seconds: float = DEFAULT_RULES_REFRESH_SECONDS
    alerts_outbox_url: str | None = None
    drift_psi_threshold: float = DEFAULT_DRIFT_PSI_THRESHOLD
    report_recompute_days: int = DEFAULT_REPORT_RECOMPUTE_DAYS

    @property
    def reports_prefix(self) -> str:
        """Key prefix of this stage's daily reports in the bucket (``reports/<stage>``)."""
        return f"reports/{self.stage}"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default ``os.environ``).

        Raises
        ------
        ConfigurationError
            A required variable is missing or a number does not parse.
        """
        env = os.environ if environ is None else environ
        stage = env.get(ENV_STAGE, "local")
        return cls(
            stage=stage,
            region=env.get(ENV_REGION) or env.get(ENV_DEFAULT_REGION) or DEFAULT_REGION,
            endpoint_url=env.get(ENV_ENDPOINT_URL) or None,
            decisions_table=_required(env, ENV_DECISIONS_TABLE),
            state_table=_required(env, ENV_STATE_TABLE),
            config_table=_required(env, ENV_CONFIG_TABLE),
            bucket=_required(env, ENV_BUCKET),
            model_prefix=env.get(ENV_MODEL_PREFIX, f"models/{stage}").rstrip("/"),
            model_refresh_seconds=_number(
                env, ENV_MODEL_REFRESH_SECONDS, DEFAULT_MODEL_REFRESH_SECONDS
            ),
            alerts_topic_arn=_required(env, ENV_ALERTS_TOPIC_ARN),
            default_currency=env.get(ENV_DEFAULT_CURRENCY, DEFAULT_CURRENCY),
            review_threshold=_optional_number(env, ENV_REVIEW_THRESHOLD),
            block_threshold=_optional_number(env, ENV_BLOCK_THRESHOLD),
            review_cost=_optional_number(env, ENV_REVIEW_COST),
            id_hash_key=env.get(ENV_ID_HASH_KEY) or None,
            id_hash_key_parameter=env.get(ENV_ID_HASH_KEY_PARAMETER) or None,
            decision_retention_days=int(
                _number(env, ENV_DECISION_RETENTION_DAYS, DEFAULT_DECISION_RETENTION_DAYS)
            ),
            rules_refresh_seconds=_number(
                env, ENV_RULES_REFRESH_SECONDS, DEFAULT_RULES_REFRESH_SECONDS
            ),
            alerts_outbox_url=env.get(ENV_ALERTS_OUTBOX_URL) or None,
            drift_psi_threshold=_number(env, ENV_DRIFT_PSI_THRESHOLD, DEFAULT_DRIFT_PSI_THRESHOLD),
            report_recompute_days=int(
                _number(env, ENV_REPORT_RECOMPUTE_DAYS, DEFAULT_REPORT_RECOMPUTE_DAYS)
            ),
        )


def scoring_queue_name(environ: Mapping[str, str] | None = None) -> str:
    """Name of the bulk scoring queue the SQS handler subscribes to.

    Read when ``app.py`` is imported, because Chalice needs it to build the event
    source mapping at packaging time (``make package`` sets it per stage).
    """
    env = os.environ if environ is None else environ
    return env.get(ENV_SCORING_QUEUE, DEFAULT_SCORING_QUEUE)


def decisions_stream_arn(environ: Mapping[str, str] | None = None) -> str:
    """ARN of the decisions table's stream, which the alert publisher consumes.

    Read when ``app.py`` is imported, like ``scoring_queue_name``; ``make package``
    replaces the event source's stream with the resources stack's export, whatever this
    is, and the local worker reads the stream it finds on the table.
    """
    env = os.environ if environ is None else environ
    return env.get(ENV_DECISIONS_STREAM_ARN, DEFAULT_DECISIONS_STREAM_ARN)


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name)
    if not value:
        raise ConfigurationError(f"environment variable {name} is required")
    return value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    value = _optional_number(env, name)
    return default if value is None else value


def _optional_number(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name)
    if raw in (None, ""):
        return None
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"environment variable {name} is not a number: {raw!r}") from exc
