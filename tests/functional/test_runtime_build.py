"""The runtime's build reads the active model and the rule set, so the first transaction
does not wait for S3 or for the rule set's items (chalicelib/runtime.py)."""

from __future__ import annotations

import pytest

from chalicelib import aws, runtime
from chalicelib.errors import StoreError
from chalicelib.model.registry import ModelProvider, ModelUnavailableError
from chalicelib.rules.dynamodb import DynamoRuleStore
from chalicelib.settings import Settings
from chalicelib.transaction import parse_transaction
from fraudctl.local.calls import CallLog
from tests.conftest import transaction


def calls_of(service: str, settings: Settings) -> CallLog:
    """The calls of the client the build will use (clients are cached per service)."""
    return CallLog(aws.client(service, settings.region, settings.endpoint_url))


def first_score(built: runtime.Runtime, settings: Settings) -> dict:
    payload = transaction(transaction_id="first")
    tx = parse_transaction(payload, default_currency=settings.default_currency)
    return built.service.score(tx).response


def test_the_build_loads_the_active_model_and_the_first_transaction_reads_no_s3(
    published_model,
):
    settings = Settings.from_environ()
    calls = calls_of("s3", settings)

    built = runtime.build(settings)

    assert calls.count() == {"GetObject": 3}  # active pointer, manifest, model
    calls.clear()
    assert first_score(built, settings)["model_version"] == published_model
    assert calls.count() == {}


def test_the_build_loads_the_rule_set_and_the_first_transaction_only_reads_and_commits_state(
    published_model,
):
    settings = Settings.from_environ()
    rule = {"expression": "amount > 1000", "action": "block"}
    _, published = runtime.build(settings).rules.rules.put("big", rule, "ann")
    calls = calls_of("dynamodb", settings)

    built = runtime.build(settings)  # another container's cold start

    assert calls.count() == {"GetItem": 2}  # the rule set's head and its version
    calls.clear()
    response = first_score(built, settings)
    assert response["rules_version"] == str(published.version)
    assert calls.count() == {"BatchGetItem": 1, "TransactWriteItems": 1}


def test_a_rule_set_unreadable_at_the_build_is_read_by_the_first_transaction(
    published_model, monkeypatch
):
    settings = Settings.from_environ()
    head = DynamoRuleStore.head
    failures = iter([StoreError("throttled")])

    def flaky(self):
        for failure in failures:
            raise failure
        return head(self)

    monkeypatch.setattr(DynamoRuleStore, "head", flaky)
    built = runtime.build(settings)

    response = first_score(built, settings)
    assert response["decision"] in {"allow", "review", "block"}
    assert response["rules_version"] == built.service.rules.current().version


def test_a_stage_without_an_active_model_still_builds_and_reports_it(stack):
    built = runtime.build(Settings.from_environ())

    with pytest.raises(ModelUnavailableError):
        built.models.current()


def test_a_failure_the_model_provider_does_not_handle_fails_the_build(published_model, monkeypatch):
    def broken(self):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(ModelProvider, "current", broken)

    with pytest.raises(RuntimeError, match="unexpected"):
        runtime.build(Settings.from_environ())
