"""Entry point of ``fraudctl``: one sub-command per module, registered from ``COMMANDS``.

Each command module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (taking the parsed namespace, returning the process exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from chalicelib.errors import FraudServiceError
from fraudctl.errors import CommandError

# Modules under ``fraudctl.commands`` providing sub-commands, in help order.
COMMANDS: tuple[str, ...] = (
    "simulate",
    "features",
    "train",
    "evaluate",
    "model",
    "score",
    "replay",
    "enqueue",
    "alerts",
    "feedback",
    "export",
    "report",
    "rules",
    "lists",
)


def build_parser() -> argparse.ArgumentParser:
    """The ``fraudctl`` argument parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="fraudctl", description="Operate, train and test the fraud-detection service."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"fraudctl.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``fraudctl`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CommandError, FraudServiceError) as exc:
        print(f"fraudctl {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
