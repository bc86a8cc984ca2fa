"""``fraudctl report --date D --out DIR``: a day's report as report.json and report.html.

Reads the report the daily function stored in the stage's bucket
(``reports/<stage>/<date>/``). When there is none, or with ``--compute``, it asks the API
to compute it now from the decisions table (``GET /v1/reports/D?compute=true``, which
stores it too) and renders the page from the JSON with the same code as the function.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any

from chalicelib.errors import NotFoundError, StoreError
from chalicelib.reports.html import render
from chalicelib.reports.store import HTML_FILE, JSON_FILE
from fraudctl.api import Send, add_api_arguments, client_from_args, urllib_send
from fraudctl.errors import CommandError
from fraudctl.target import add_target_arguments, resolve_target


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="a day's report (report.json and report.html)",
        description=(__doc__ or "").split("\n\n")[1],
    )
    parser.add_argument("--date", type=date.fromisoformat, required=True, help="ISO date")
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    parser.add_argument(
        "--compute", action="store_true", help="compute it now through the API, even if stored"
    )
    add_target_arguments(parser)
    add_api_arguments(parser.add_argument_group("the API (when computing)"), region=False)
    parser.set_defaults(func=run)


def stored(args: argparse.Namespace) -> tuple[str, str] | None:
    """The stored report.json and report.html of the day, or None."""
    store = resolve_target(args).reports()
    day = args.date.isoformat()
    try:
        return store.get(day, JSON_FILE), store.get(day, HTML_FILE)
    except NotFoundError:
        return None
    except StoreError as exc:
        raise CommandError(str(exc)) from exc


def computed(args: argparse.Namespace, send: Send) -> tuple[str, str]:
    """The report computed now by the API, and its page."""
    report: dict[str, Any] = client_from_args(args, send).request(
        "GET", f"/v1/reports/{args.date.isoformat()}", query={"compute": "true"}
    )
    return json.dumps(report, indent=1), render(report)


def run(args: argparse.Namespace, send: Send = urllib_send) -> int:
    files = None if args.compute else stored(args)
    origin = "stored" if files else "computed"
    report_json, page = files or computed(args, send)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / JSON_FILE).write_text(report_json)
    (args.out / HTML_FILE).write_text(page)
    report = json.loads(report_json)
    counts = report["decisions"]["counts"]
    print(
        f"report of {report['date']} ({origin}): {report['volume']['transactions']} transactions, "
        f"{counts['review']} reviewed, {counts['block']} blocked, "
        f"{report['alerts']['raised']} alerts; largest PSI {report['drift']['max_psi']}\n"
        f"  {args.out / JSON_FILE}\n  {args.out / HTML_FILE}"
    )
    return 0
