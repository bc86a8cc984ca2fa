"""``fraudctl rules``: read and change the rule set of a running stack, and backtest.

``list``, ``get``, ``put``, ``delete``, ``history`` and ``rollback`` talk to the API (see
``fraudctl.api``); ``backtest`` runs offline on a labelled file, beside the stack's rules
(or ``--rules FILE``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fraudctl.api import Send, add_api_arguments, client_from_args, path_part, urllib_send
from fraudctl.errors import CommandError
from fraudctl.offline.backtest import format_report, run_backtest
from fraudctl.rulefiles import DEFAULT_PACK, read_rules_file
from fraudctl.stackinfo import stack_file


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "rules",
        help="list, change, roll back and backtest fraud rules",
        description="Manage the rule set of the running stack through its API, or backtest "
        "an expression on a labelled file.",
    )
    commands = parser.add_subparsers(dest="rules_command", metavar="ACTION", required=True)

    listing = commands.add_parser("list", help="the rules in force (or of --version)")
    listing.add_argument("--version", help="a past rule set version")
    listing.add_argument("--json", action="store_true", help="print the API's JSON")
    listing.set_defaults(func=run_list)

    get = commands.add_parser("get", help="one rule, as JSON")
    get.add_argument("rule_id")
    get.set_defaults(func=run_get)

    put = commands.add_parser(
        "put",
        help="create or replace a rule (flags), or load a file",
        description="With --file: a JSON object (one rule) or {'rules': [...]} (a pack, "
        "loaded as one version; --replace deletes the rules it does not name). Otherwise "
        "RULE_ID with --expr and --action.",
    )
    put.add_argument("rule_id", nargs="?")
    put.add_argument("--file", type=Path, help="a rule or a rule pack (JSON)")
    put.add_argument("--replace", action="store_true", help="with a pack: delete other rules")
    put.add_argument("--expr", help="the expression")
    put.add_argument("--action", choices=("allow", "block", "review", "alert", "suspend"))
    put.add_argument("--priority", type=int)
    put.add_argument("--mode", choices=("active", "shadow", "disabled"))
    put.add_argument("--description")
    put.add_argument("--suspend-target", choices=("customer_id", "card_id", "device_id"))
    put.add_argument("--suspend-for", help="suspension duration such as 24h or 7d")
    put.add_argument("--suspend-list", help="list of the suspension (default by target)")
    put.set_defaults(func=run_put)

    delete = commands.add_parser("delete", help="delete a rule")
    delete.add_argument("rule_id")
    delete.set_defaults(func=run_delete)

    history = commands.add_parser("history", help="versions of the rule set, or of one rule")
    history.add_argument("rule_id", nargs="?")
    history.add_argument("--limit", type=int, default=20)
    history.set_defaults(func=run_history)

    rollback = commands.add_parser("rollback", help="restore the rules of a past version")
    rollback.add_argument("version")
    rollback.set_defaults(func=run_rollback)

    for sub in (listing, get, put, delete, history, rollback):
        add_api_arguments(sub)

    backtest = commands.add_parser(
        "backtest",
        help="hits, precision, recall and amount of an expression on a labelled file",
        description="Evaluate --expr on every row of --data (features from the offline "
        "engine, the model score when an expression reads it) beside the current rules: "
        "per rule and combined. The current rules come from --rules FILE, else the running "
        f"stack, else {DEFAULT_PACK.relative_to(DEFAULT_PACK.parents[1])}.",
    )
    backtest.add_argument("--expr", required=True, help="the candidate expression")
    backtest.add_argument("--data", type=Path, required=True, help="labelled CSV (.gz ok)")
    backtest.add_argument("--action", default="review", help="the candidate's action")
    backtest.add_argument("--rules", type=Path, help="current rules: a pack or rule list (JSON)")
    backtest.add_argument("--model", type=Path, help="model directory for score / risk_score")
    backtest.add_argument(
        "--list",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="members of @NAME, one value per line (default: lists are empty)",
    )
    backtest.add_argument("--json", action="store_true", help="print the report as JSON")
    add_api_arguments(backtest)
    backtest.set_defaults(func=run_backtest_command)


def _print(answer: Any) -> None:
    print(json.dumps(answer, indent=2, default=str))


def run_list(args: argparse.Namespace, send: Send = urllib_send) -> int:
    answer = client_from_args(args, send).request(
        "GET", "/v1/rules", query={"version": args.version}
    )
    if args.json:
        _print(answer)
        return 0
    print(f"rule set version {answer['version']} ({len(answer['rules'])} rules)")
    for rule in answer["rules"]:
        print(
            f"  {rule['rule_id']:<28} {rule['action']:<8} {rule['mode']:<8} "
            f"{rule['priority']:>5}  {rule['expression']}"
        )
    return 0


def run_get(args: argparse.Namespace, send: Send = urllib_send) -> int:
    _print(client_from_args(args, send).request("GET", f"/v1/rules/{path_part(args.rule_id)}"))
    return 0


def run_put(args: argparse.Namespace, send: Send = urllib_send) -> int:
    client = client_from_args(args, send)
    if args.file is not None:
        document = read_rules_file(args.file)
        if "rules" in document:
            answer = client.request(
                "POST", "/v1/rules/import", {"rules": document["rules"], "replace": args.replace}
            )
            print(f"rule set version {answer['rules_version']} ({len(answer['versions'])} new)")
            return 0
        rule_id = args.rule_id or document.get("rule_id")
        body = document
    else:
        rule_id, body = args.rule_id, _body_from_flags(args)
    if not rule_id:
        raise CommandError("a RULE_ID (or a rule_id in --file) is required")
    answer = client.request("PUT", f"/v1/rules/{path_part(rule_id)}", body)
    print(f"rule {answer['rule_id']} saved: rule set version {answer['rules_version']}")
    return 0


def _body_from_flags(args: argparse.Namespace) -> dict[str, Any]:
    if not args.expr or not args.action:
        raise CommandError("--expr and --action are required (or --file)")
    body: dict[str, Any] = {"expression": args.expr, "action": args.action}
    for name in ("priority", "mode", "description"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    if args.suspend_target or args.suspend_for:
        body["suspend"] = {"target": args.suspend_target, "duration": args.suspend_for}
        if args.suspend_list:
            body["suspend"]["list"] = args.suspend_list
    return body


def run_delete(args: argparse.Namespace, send: Send = urllib_send) -> int:
    answer = client_from_args(args, send).request("DELETE", f"/v1/rules/{path_part(args.rule_id)}")
    print(f"rule {args.rule_id} deleted: rule set version {answer['rules_version']}")
    return 0


def run_history(args: argparse.Namespace, send: Send = urllib_send) -> int:
    client = client_from_args(args, send)
    query = {"limit": args.limit}
    if args.rule_id:
        answer = client.request("GET", f"/v1/rules/{path_part(args.rule_id)}/history", query=query)
        for revision in answer["revisions"]:
            what = "deleted" if revision["deleted"] else revision["rule"]["expression"]
            when, who = revision["created_at"], revision["author"]
            print(f"  v{revision['version']:<6} {when}  {who}: {what}")
        return 0
    answer = client.request("GET", "/v1/rules/versions", query=query)
    for version in answer["versions"]:
        change = " ".join(f"{k}={v}" for k, v in version["change"].items())
        print(
            f"  v{version['version']:<6} {version['created_at']}  {version['author']}: "
            f"{change} ({version['rules']} rules)"
        )
    return 0


def run_rollback(args: argparse.Namespace, send: Send = urllib_send) -> int:
    answer = client_from_args(args, send).request(
        "POST", "/v1/rules/rollback", {"version": args.version}
    )
    print(f"rules of version {args.version} restored as version {answer['version']}")
    return 0


def run_backtest_command(args: argparse.Namespace, send: Send = urllib_send) -> int:
    if not args.data.is_file():
        raise CommandError(f"{args.data} does not exist")
    report = run_backtest(
        expression=args.expr,
        action=args.action,
        data=args.data,
        current=_current_rules(args, send),
        model_dir=args.model,
        lists=dict(_list_file(spec) for spec in args.list),
    )
    if args.json:
        _print(report.to_dict())
    else:
        print(format_report(report))
    return 0


def _current_rules(args: argparse.Namespace, send: Send) -> tuple[str, list[dict[str, Any]]]:
    """Where the current rules come from, and their bodies."""
    if args.rules is not None:
        return str(args.rules), read_rules_file(args.rules).get("rules", [])
    if args.url or stack_file().is_file():
        answer = client_from_args(args, send).request("GET", "/v1/rules")
        return f"the stack's rule set version {answer['version']}", answer["rules"]
    print(f"no running stack: comparing with {DEFAULT_PACK}", file=sys.stderr)
    return str(DEFAULT_PACK), read_rules_file(DEFAULT_PACK)["rules"]


def _list_file(spec: str) -> tuple[str, set[str]]:
    name, _, path = spec.partition("=")
    if not name or not path or not Path(path).is_file():
        raise CommandError(f"--list {spec}: expected NAME=FILE with an existing file")
    return name, {line.strip() for line in Path(path).read_text().splitlines() if line.strip()}
