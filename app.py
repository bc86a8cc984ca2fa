"""Chalice application: routes and event handlers only; the domain lives in chalicelib."""

from __future__ import annotations

from chalicelib.coldstart import collector_paused, one_blas_thread

# Before numpy is imported: its idle BLAS threads would spin on the cold start's CPU. The
# imports build what the container keeps; the cyclic collector would rescan it all for
# nothing while they run (chalicelib/coldstart.py).
one_blas_thread()
with collector_paused():
    from datetime import datetime
    from typing import TYPE_CHECKING

    from chalice import Chalice, Cron, Rate, Response
    from chalice.app import SQSEvent

    from chalicelib import auth, observability, runtime, settings
    from chalicelib.api import reports as reports_api
    from chalicelib.api import rules as rules_api
    from chalicelib.feedback import parse_feedback
    from chalicelib.http import json_api, json_body, respond
    from chalicelib.model.registry import ModelUnavailableError
    from chalicelib.records import public_view, validate_transaction_id
    from chalicelib.transaction import parse_transaction

    if TYPE_CHECKING:
        from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

app = Chalice(app_name="fraud-detection")
observability.install(app)
app.register_blueprint(rules_api.blueprint)
app.register_blueprint(reports_api.blueprint)


@app.route("/v1/health", methods=["GET"])
@json_api
def health() -> Response:
    rt = runtime.current()
    try:
        model_version: str | None = rt.models.current().version
    except ModelUnavailableError:
        model_version = None
    body = {
        "status": "ok" if model_version else "degraded",
        "model_version": model_version,
        "rules_version": rt.service.rules.current().version,
    }
    return respond(body, 200 if model_version else 503)


@app.route("/v1/score", methods=["POST"], **auth.SCORING)
@json_api
def score() -> Response:
    rt = runtime.current()
    tx = parse_transaction(
        json_body(app.current_request), default_currency=rt.settings.default_currency
    )
    result = rt.service.score(tx)
    observability.record_decision(result.response, replayed=not result.created)
    headers = {} if result.created else {"Idempotent-Replayed": "true"}
    return respond(result.response, 200, headers)


@app.route("/v1/transactions/{transaction_id}", methods=["GET"], **auth.ANALYST)
@json_api
def get_transaction(transaction_id: str) -> Response:
    validate_transaction_id(transaction_id)
    return respond(public_view(runtime.current().service.get(transaction_id)))


@app.route("/v1/feedback", methods=["POST"], **auth.ANALYST)
@json_api
def feedback() -> Response:
    label = parse_feedback(json_body(app.current_request))
    return respond(runtime.current().service.feedback(label.transaction_id, label.is_fraud))


@app.on_sqs_message(queue=settings.scoring_queue_name(), batch_size=10)
def score_queue(event: SQSEvent) -> PartialItemFailureResponse:
    # Imported here: powertools' batch utilities cost the other functions' cold starts.
    from chalicelib.batch import process_sqs_event

    rt = runtime.current()
    return process_sqs_event(event.to_dict(), rt.service.score_batch, rt.settings.default_currency)


@app.on_dynamodb_record(
    stream_arn=settings.decisions_stream_arn(), batch_size=100, starting_position="TRIM_HORIZON"
)
def publish_alerts(event) -> dict:
    """The alerts of newly stored decisions (the decisions table's stream)."""
    # Imported here, as the delivery itself (runtime.delivery): only this function uses it.
    from chalicelib.delivery.stream import pending_alerts

    return runtime.delivery().deliver(pending_alerts(event.to_dict())).batch_response()


@app.schedule(Rate(1, unit=Rate.MINUTES))
def drain_alert_outbox(event) -> dict:
    """Publish the alerts waiting on the outbox queue."""
    return runtime.delivery().drain().to_dict()


@app.schedule(Cron(30, 0, "*", "*", "?", "*"))
def daily_report(event) -> dict:
    """Yesterday's report (and a recomputed older one) to S3, at 00:30 UTC."""
    return runtime.reports().run_daily(datetime.fromisoformat(event.time), runtime.delivery())
