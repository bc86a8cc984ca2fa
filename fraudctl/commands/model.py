"""``fraudctl model``: the S3 model registry of a stage.

``publish DIR`` uploads an artifact under its version (and activates it unless
``--no-activate``); ``list`` shows the versions; ``promote VERSION`` activates one;
``rollback`` re-activates the previous one; ``challenger VERSION | --clear`` sets the model
scored in shadow; ``compare --from D --to D`` reports champion and challenger on labelled
decisions. Running functions pick up a change of ``active.json`` within their refresh
interval (30 s), without a redeploy. Every version is verified (SHA-256 of each file,
then a full load) before it is uploaded or activated.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.model.artifact import load_directory, read_directory
from chalicelib.model.registry import ModelRegistry
from fraudctl.errors import CommandError
from fraudctl.evaluation.compare import compare, report
from fraudctl.evaluation.feedback import labelled_decisions
from fraudctl.evaluation.metrics import json_safe
from fraudctl.target import Target, add_target_arguments, resolve_target


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "model",
        help="publish, list, promote, roll back and compare model versions",
        description=(__doc__ or "").split("\n\n")[1],
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    publish_parser = actions.add_parser("publish", help="upload an artifact directory")
    publish_parser.add_argument("directory", type=Path, help="artifact directory")
    publish_parser.add_argument(
        "--no-activate", action="store_true", help="upload only; activate later with promote"
    )
    publish_parser.set_defaults(handler=publish)

    list_parser = actions.add_parser("list", help="the published versions, oldest first")
    list_parser.add_argument("--json", action="store_true", help="print the manifests")
    list_parser.set_defaults(handler=list_versions)

    promote_parser = actions.add_parser("promote", help="activate a published version")
    promote_parser.add_argument("version")
    promote_parser.set_defaults(handler=promote)

    rollback_parser = actions.add_parser("rollback", help="re-activate the previous version")
    rollback_parser.set_defaults(handler=rollback)

    challenger_parser = actions.add_parser("challenger", help="set the shadow model")
    which = challenger_parser.add_mutually_exclusive_group(required=True)
    which.add_argument("version", nargs="?", help="published version to score in shadow")
    which.add_argument("--clear", action="store_true", help="stop shadow scoring")
    challenger_parser.set_defaults(handler=challenger)

    compare_parser = actions.add_parser("compare", help="champion vs challenger on labels")
    compare_parser.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    compare_parser.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    compare_parser.add_argument("--json", action="store_true", help="print JSON")
    compare_parser.set_defaults(handler=compare_models)

    for action in (
        publish_parser,
        list_parser,
        promote_parser,
        rollback_parser,
        challenger_parser,
        compare_parser,
    ):
        add_target_arguments(action)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    target = resolve_target(args)
    try:
        args.handler(args, target)
    except (ClientError, BotoCoreError) as exc:
        raise CommandError(f"AWS refused the call: {exc}") from exc
    return 0


def _print(document: Any) -> None:
    print(json.dumps(json_safe(document), indent=2, default=str))


def publish(args: argparse.Namespace, target: Target) -> None:
    files = read_directory(args.directory)
    load_directory(args.directory)  # the whole artifact deserialises, as functions will
    registry = target.registry()
    version = registry.publish(files)
    pointer = None if args.no_activate else registry.activate(version)
    _print({"version": version, "prefix": registry.prefix, "active": pointer})


def list_versions(args: argparse.Namespace, target: Target) -> None:
    registry = target.registry()
    manifests = registry.versions()
    if args.json:
        _print(manifests)
        return
    print(_version_table(registry, manifests))


def _version_table(registry: ModelRegistry, manifests: list[dict[str, Any]]) -> str:
    pointer = registry.active() or {}
    roles = {pointer.get("version"): "active", pointer.get("challenger"): "challenger"}
    lines = [
        "| version | role | kind | created | review | block | validation AP | test AP |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for manifest in manifests:
        metrics = manifest.get("metrics", {})
        thresholds = manifest.get("thresholds", {})
        lines.append(
            f"| {manifest['version']} | {roles.get(manifest['version'], '')} "
            f"| {manifest.get('kind', '')} | {manifest.get('created_at', '')[:19]} "
            f"| {_number(thresholds.get('review'))} | {_number(thresholds.get('block'))} "
            f"| {_number(metrics.get('validation', {}).get('average_precision'))} "
            f"| {_number(metrics.get('test', {}).get('average_precision'))} |"
        )
    return "\n".join(lines)


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) else "-"


def promote(args: argparse.Namespace, target: Target) -> None:
    _print(target.registry().activate(args.version))


def rollback(args: argparse.Namespace, target: Target) -> None:
    _print(target.registry().rollback())


def challenger(args: argparse.Namespace, target: Target) -> None:
    _print(target.registry().set_challenger(None if args.clear else args.version))


def compare_models(args: argparse.Namespace, target: Target) -> None:
    if args.end <= args.start:
        raise CommandError("--to must come after --from")
    records = labelled_decisions(target.decisions(), args.start, args.end)
    comparison = compare(records)
    if args.json:
        _print(comparison)
    else:
        print(report(comparison))
