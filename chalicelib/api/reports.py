"""Analyst route of daily reports (IAM-authorised): a Chalice blueprint.

``GET /v1/reports/{date}``: the stored report of ``date`` (ISO date), JSON by default,
the HTML page with ``Accept: text/html`` or ``?format=html``; 404 when there is none.
``?compute=true`` computes it now from the decisions table, stores it and returns it
(no drift alert: those are the scheduled function's).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from chalice import Blueprint, Response

from chalicelib import auth, runtime
from chalicelib.api.requests import INVALID_QUERY
from chalicelib.http import json_api, respond
from chalicelib.reports.html import render
from chalicelib.rules.validation import BodyValidationError, Problem

blueprint = Blueprint(__name__)

HTML = "text/html; charset=utf-8"
FORMATS = ("json", "html")


def report_day(raw: str) -> date:
    """``raw`` as a date (``BodyValidationError`` unless it is ``YYYY-MM-DD``)."""
    try:
        if len(raw) == len("YYYY-MM-DD"):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise BodyValidationError([Problem("date", "must be an ISO date, YYYY-MM-DD")], INVALID_QUERY)


def wants_html(params: Mapping[str, str], accept: str) -> bool:
    """Whether the caller asked for the page: ``format`` first, else the Accept header."""
    chosen = params.get("format")
    if chosen is not None and chosen not in FORMATS:
        raise BodyValidationError([Problem("format", "must be json or html")], INVALID_QUERY)
    return chosen == "html" if chosen else "text/html" in accept


def page(body: str) -> Response:
    return Response(body=body, status_code=200, headers={"Content-Type": HTML})


@blueprint.route("/v1/reports/{day}", methods=["GET"], **auth.ANALYST)
@json_api
def get_report(day: str) -> Response:
    request = blueprint.current_request
    params: Mapping[str, str] = request.query_params or {}
    when = report_day(day)
    html = wants_html(params, request.headers.get("accept", ""))
    reports = runtime.reports()
    if params.get("compute") == "true":
        report = reports.publish(when)
        return page(render(report)) if html else respond(report)
    if html:
        return page(reports.html(when))
    return respond(reports.json(when))
