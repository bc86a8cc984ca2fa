"""The runtime's build fetches the active model, so the first transaction does not wait
for S3 (chalicelib/runtime.py)."""

from __future__ import annotations

import pytest

from chalicelib import aws, runtime
from chalicelib.model.registry import ModelProvider, ModelUnavailableError
from chalicelib.settings import Settings
from chalicelib.transaction import parse_transaction
from fraudctl.local.calls import CallLog
from tests.conftest import transaction


def s3_calls(settings: Settings) -> CallLog:
    """The calls of the S3 client the build will use (clients are cached per service)."""
    return CallLog(aws.client("s3", settings.region, settings.endpoint_url))


def test_the_build_loads_the_active_model_and_the_first_transaction_reads_no_s3(
    published_model,
):
    settings = Settings.from_environ()
    calls = s3_calls(settings)

    built = runtime.build(settings)

    assert calls.count() == {"GetObject": 3}  # active pointer, manifest, model
    calls.clear()
    payload = transaction(transaction_id="first")
    result = built.service.score(
        parse_transaction(payload, default_currency=settings.default_currency)
    )
    assert result.response["model_version"] == published_model
    assert calls.count() == {}


def test_a_stage_without_an_active_model_still_builds_and_reports_it(stack):
    built = runtime.build(Settings.from_environ())

    with pytest.raises(ModelUnavailableError):
        built.models.current()


def test_a_failure_the_model_provider_does_not_handle_fails_the_build(
    published_model, monkeypatch
):
    def broken(self):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(ModelProvider, "current", broken)

    with pytest.raises(RuntimeError, match="unexpected"):
        runtime.build(Settings.from_environ())
