"""Analyst routes of rules and lists (IAM-authorised): a Chalice blueprint.

Each handler reads the request, calls one service of ``runtime.current().rules`` and
answers; domain errors become HTTP answers in ``chalicelib.http.json_api`` (400 with every
bad field and, for an expression, its position; 404; 409).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalice import Blueprint, Response

from chalicelib import auth, runtime
from chalicelib.api.requests import (
    MAX_VERSION,
    author_of,
    decode_cursor,
    encode_cursor,
    integer,
    page_size,
    path_value,
    query_int,
)
from chalicelib.http import json_api, respond
from chalicelib.rules.definitions import INVALID_RULE
from chalicelib.rules.limits import (
    MAX_IMPORT_BODY_BYTES,
    MAX_LIST_BODY_BYTES,
    MAX_RULE_BODY_BYTES,
)
from chalicelib.rules.lists import INVALID_LIST_ITEM
from chalicelib.rules.service import rules_version
from chalicelib.rules.store import Revision, RuleSetVersion
from chalicelib.rules.trial import INVALID_TRIAL, check_trial, try_expression
from chalicelib.rules.validation import parse_document
from chalicelib.transaction import TRANSACTION_FIELDS, parse_transaction

blueprint = Blueprint(__name__)


def _author() -> str:
    request = blueprint.current_request
    return author_of(request.context, request.headers)


def _body(max_bytes: int, code: str) -> dict[str, Any]:
    return parse_document(blueprint.current_request.raw_body, max_bytes, code)


def _params() -> Mapping[str, str] | None:
    return blueprint.current_request.query_params


def rule_view(revision: Revision, version: int) -> dict[str, Any]:
    """A rule as the API shows it: its body, its last change, the rule set version."""
    assert revision.rule is not None  # noqa: S101 (current revisions hold a rule)
    return {
        **revision.rule.to_dict(),
        "revision": str(revision.version),
        "updated_at": revision.created_at,
        "updated_by": revision.author,
        "rules_version": rules_version(version),
    }


def version_view(version: RuleSetVersion) -> dict[str, Any]:
    """A whole rule set version with its rules."""
    return {
        **version.summary(),
        "version": rules_version(version.version),
        "rules": [
            rule_view(version.revisions[rid], version.version) for rid in sorted(version.revisions)
        ],
    }


# -- rules -------------------------------------------------------------------------------
@blueprint.route("/v1/rules", methods=["GET"], **auth.ANALYST)
@json_api
def list_rules() -> Response:
    rules = runtime.current().rules.rules
    number = query_int(_params(), "version", None, 1, MAX_VERSION)
    return respond(version_view(rules.current() if number is None else rules.version(number)))


@blueprint.route("/v1/rules", methods=["POST"], **auth.ANALYST)
@json_api
def create_rule() -> Response:
    revision, version = runtime.current().rules.rules.create(
        _body(MAX_RULE_BODY_BYTES, INVALID_RULE), _author()
    )
    return respond(rule_view(revision, version.version), 201)


@blueprint.route("/v1/rules/versions", methods=["GET"], **auth.ANALYST)
@json_api
def rule_versions() -> Response:
    rules = runtime.current().rules.rules
    versions = rules.versions(page_size(_params()))
    current = versions[0].version if versions else 0
    return respond(
        {
            "rules_version": rules_version(current),
            "versions": [{**v.summary(), "version": rules_version(v.version)} for v in versions],
        }
    )


@blueprint.route("/v1/rules/rollback", methods=["POST"], **auth.ANALYST)
@json_api
def rollback_rules() -> Response:
    body = _body(MAX_RULE_BODY_BYTES, INVALID_RULE)
    number = integer("version", body.get("version"), 1, MAX_VERSION)
    version = runtime.current().rules.rules.rollback(number, _author())
    return respond({**version.summary(), "version": rules_version(version.version)})


@blueprint.route("/v1/rules/import", methods=["POST"], **auth.ANALYST)
@json_api
def import_rules() -> Response:
    versions = runtime.current().rules.rules.import_rules(
        _body(MAX_IMPORT_BODY_BYTES, INVALID_RULE), _author()
    )
    summaries = [{**v.summary(), "version": rules_version(v.version)} for v in versions]
    current = runtime.current().rules.rules.current().version
    return respond({"rules_version": rules_version(current), "versions": summaries})


@blueprint.route("/v1/rules/test", methods=["POST"], **auth.ANALYST)
@json_api
def test_rule() -> Response:
    rt = runtime.current()
    body = _body(MAX_RULE_BODY_BYTES, INVALID_TRIAL)
    features, score = check_trial(body)
    if "transaction_id" in body:
        record = rt.service.get(str(body["transaction_id"]))
        payload = {k: v for k, v in record.items() if k in TRANSACTION_FIELDS}
        features = record.get("features", {}) if features is None else features
        score = record.get("score") if score is None else score
    else:
        payload = body["transaction"]
    tx = parse_transaction(payload, default_currency=rt.settings.default_currency)
    result = try_expression(
        body.get("expression"),
        tx,
        features or {},
        score,
        rt.rules.rules.schema,
        rt.rules.lists.values,
        rt.rules.lists.fetch,
    )
    return respond(result)


@blueprint.route("/v1/rules/{rule_id}", methods=["GET"], **auth.ANALYST)
@json_api
def get_rule(rule_id: str) -> Response:
    rules = runtime.current().rules.rules
    revision = rules.get(path_value(rule_id))
    return respond(rule_view(revision, rules.current().version))


@blueprint.route("/v1/rules/{rule_id}", methods=["PUT"], **auth.ANALYST)
@json_api
def put_rule(rule_id: str) -> Response:
    rules = runtime.current().rules.rules
    rule_id = path_value(rule_id)
    existed = rule_id in rules.current().revisions
    revision, version = rules.put(rule_id, _body(MAX_RULE_BODY_BYTES, INVALID_RULE), _author())
    return respond(rule_view(revision, version.version), 200 if existed else 201)


@blueprint.route("/v1/rules/{rule_id}", methods=["DELETE"], **auth.ANALYST)
@json_api
def delete_rule(rule_id: str) -> Response:
    rule_id = path_value(rule_id)
    version = runtime.current().rules.rules.delete(rule_id, _author())
    return respond(
        {"rule_id": rule_id, "deleted": True, "rules_version": rules_version(version.version)}
    )


@blueprint.route("/v1/rules/{rule_id}/history", methods=["GET"], **auth.ANALYST)
@json_api
def rule_history(rule_id: str) -> Response:
    rule_id = path_value(rule_id)
    revisions = runtime.current().rules.rules.history(rule_id, page_size(_params()))
    return respond({"rule_id": rule_id, "revisions": [r.to_dict() for r in revisions]})


# -- lists -------------------------------------------------------------------------------
@blueprint.route("/v1/lists", methods=["GET"], **auth.ANALYST)
@json_api
def list_lists() -> Response:
    rules = runtime.current().rules.provider.current()
    used: dict[str, list[str]] = {}
    for compiled in rules.compiled:
        for name in compiled.expression.list_names:
            used.setdefault(name, []).append(compiled.rule.rule_id)
    return respond(
        {"lists": [{"name": n, "rules": sorted(ids)} for n, ids in sorted(used.items())]}
    )


@blueprint.route("/v1/lists/{name}/items", methods=["GET"], **auth.ANALYST)
@json_api
def list_items(name: str) -> Response:
    params = _params()
    expired = (params or {}).get("include_expired") == "true"
    entries, last = runtime.current().rules.lists.items(
        name, page_size(params), decode_cursor(params), include_expired=expired
    )
    return respond(
        {"list": name, "items": [e.to_dict() for e in entries], "next": encode_cursor(last)}
    )


@blueprint.route("/v1/lists/{name}/items", methods=["POST"], **auth.ANALYST)
@json_api
def add_items(name: str) -> Response:
    entries = runtime.current().rules.lists.add(
        name, _body(MAX_LIST_BODY_BYTES, INVALID_LIST_ITEM), _author()
    )
    return respond(
        {"list": name, "added": len(entries), "items": [e.to_dict() for e in entries]}, 201
    )


@blueprint.route("/v1/lists/{name}/items/{value}", methods=["GET"], **auth.ANALYST)
@json_api
def get_item(name: str, value: str) -> Response:
    return respond(runtime.current().rules.lists.get(name, path_value(value)).to_dict())


@blueprint.route("/v1/lists/{name}/items/{value}", methods=["DELETE"], **auth.ANALYST)
@json_api
def remove_item(name: str, value: str) -> Response:
    runtime.current().rules.lists.remove(name, path_value(value), _author())
    return respond({"list": name, "removed": True})


@blueprint.route("/v1/lists/{name}/history", methods=["GET"], **auth.ANALYST)
@json_api
def list_history(name: str) -> Response:
    changes = runtime.current().rules.lists.changes(name, page_size(_params()))
    return respond({"list": name, "changes": [c.to_dict() for c in changes]})
