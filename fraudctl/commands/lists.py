"""``fraudctl lists``: the items of the running stack's lists (``@name`` in rules).

``items`` prints a list, ``add`` and ``remove`` change one item, ``upload`` adds a file
of items in parts of ``MAX_LIST_ITEMS_PER_REQUEST``. Expiry: ``--expires-at`` (ISO-8601)
or ``--expires-in`` (``30m``, ``24h``, ``7d``), or an ``expires_at`` column per item.
"""

from __future__ import annotations

import argparse
import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chalicelib.rules.definitions import DURATION_PATTERN, duration_seconds
from chalicelib.rules.limits import MAX_LIST_ITEMS_PER_REQUEST
from fraudctl.api import Send, add_api_arguments, client_from_args, path_part, urllib_send
from fraudctl.errors import CommandError

ITEM_COLUMNS = ("value", "expires_at", "note")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "lists",
        help="read and change the allow, block and watch lists",
        description="Manage the items of the running stack's lists through its API.",
    )
    commands = parser.add_subparsers(dest="lists_command", metavar="ACTION", required=True)

    items = commands.add_parser("items", help="print a list's items")
    items.add_argument("name")
    items.add_argument("--include-expired", action="store_true")
    items.set_defaults(func=run_items)

    add = commands.add_parser("add", help="add (or replace) one item")
    add.add_argument("name")
    add.add_argument("value")
    add.add_argument("--note", default="")
    add.set_defaults(func=run_add)

    remove = commands.add_parser("remove", help="remove one item")
    remove.add_argument("name")
    remove.add_argument("value")
    remove.set_defaults(func=run_remove)

    upload = commands.add_parser(
        "upload",
        help="add the items of a file",
        description="FILE is a CSV with a header naming value and optionally expires_at "
        "and note, or a text file with one value per line.",
    )
    upload.add_argument("name")
    upload.add_argument("--file", type=Path, required=True)
    upload.set_defaults(func=run_upload)

    for sub in (add, upload):
        expiry = sub.add_mutually_exclusive_group()
        expiry.add_argument("--expires-at", help="ISO-8601 time after which items no longer count")
        expiry.add_argument("--expires-in", help="duration such as 30m, 24h or 7d from now")
    for sub in (items, add, remove, upload):
        add_api_arguments(sub)


def default_expiry(args: argparse.Namespace, now: datetime | None = None) -> str | None:
    """The expiry of ``--expires-at`` / ``--expires-in`` as ISO-8601, ``None`` without."""
    if args.expires_in is None:
        return args.expires_at
    if not DURATION_PATTERN.fullmatch(args.expires_in):
        raise CommandError(f"--expires-in {args.expires_in}: expected 30m, 24h, 7d...")
    start = now or datetime.now(UTC)
    return (start + timedelta(seconds=duration_seconds(args.expires_in))).isoformat()


def read_items(path: Path, expires_at: str | None) -> list[dict[str, Any]]:
    """The items of an upload file, ``expires_at`` where a row names none."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from exc
    header = [name.strip() for name in lines[0].split(",")] if lines else []
    if "value" in header:
        unknown = set(header) - set(ITEM_COLUMNS)
        if unknown:
            raise CommandError(f"{path}: unknown columns {sorted(unknown)}; use {ITEM_COLUMNS}")
        rows = [{k: v for k, v in row.items() if v} for row in csv.DictReader(lines)]
    else:
        rows = [{"value": line.strip()} for line in lines if line.strip()]
    if expires_at is not None:
        rows = [{"expires_at": expires_at, **row} for row in rows]
    return rows


def run_items(args: argparse.Namespace, send: Send = urllib_send) -> int:
    client = client_from_args(args, send)
    after = None
    while True:
        query = {"after": after, "include_expired": "true" if args.include_expired else None}
        page = client.request("GET", f"/v1/lists/{path_part(args.name)}/items", query=query)
        for item in page["items"]:
            shown = item["value"] if item["value"] is not None else item["key"]
            print(f"{shown}\t{item['expires_at'] or '-'}\t{item['added_by']}\t{item['note']}")
        after = page["next"]
        if after is None:
            return 0


def run_add(args: argparse.Namespace, send: Send = urllib_send) -> int:
    item: dict[str, Any] = {"value": args.value, "note": args.note}
    expires_at = default_expiry(args)
    if expires_at is not None:
        item["expires_at"] = expires_at
    client_from_args(args, send).request("POST", f"/v1/lists/{path_part(args.name)}/items", item)
    print(f"added to {args.name}" + (f" until {expires_at}" if expires_at else ""))
    return 0


def run_remove(args: argparse.Namespace, send: Send = urllib_send) -> int:
    path = f"/v1/lists/{path_part(args.name)}/items/{path_part(args.value)}"
    client_from_args(args, send).request("DELETE", path)
    print(f"removed from {args.name}")
    return 0


def run_upload(args: argparse.Namespace, send: Send = urllib_send) -> int:
    items = read_items(args.file, default_expiry(args))
    client = client_from_args(args, send)
    for start in range(0, len(items), MAX_LIST_ITEMS_PER_REQUEST):
        part = items[start : start + MAX_LIST_ITEMS_PER_REQUEST]
        client.request("POST", f"/v1/lists/{path_part(args.name)}/items", {"items": part})
    print(f"{len(items):,} items uploaded to {args.name}")
    return 0
