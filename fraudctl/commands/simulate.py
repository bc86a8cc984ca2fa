"""``fraudctl simulate``: write synthetic labelled transactions to a CSV file.

The columns are the transaction contract's plus ``is_fraud`` and ``fraud_scenario``; see
``fraudctl.simulate`` and docs/simulator.md.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import pandas as pd

from fraudctl.errors import CommandError
from fraudctl.simulate import (
    SCENARIOS,
    SimulationConfig,
    SimulationConfigError,
    simulate,
    write_csv,
)

_DEFAULTS = SimulationConfig()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``simulate`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser(
        "simulate",
        help="write synthetic labelled transactions",
        description="Simulate customers paying at terminals, with labelled fraud patterns, "
        "and write the transactions as CSV (gzipped when --out ends in .gz).",
    )
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    parser.add_argument(
        "--customers", type=int, default=_DEFAULTS.customers, help="genuine customers (%(default)s)"
    )
    parser.add_argument("--days", type=int, default=_DEFAULTS.days, help="days (%(default)s)")
    parser.add_argument("--seed", type=int, default=_DEFAULTS.seed, help="seed (%(default)s)")
    parser.add_argument(
        "--start-date",
        type=_iso_date,
        default=_DEFAULTS.start_date,
        help="first day, YYYY-MM-DD (%(default)s)",
    )
    parser.add_argument("--terminals", type=int, help="terminals (default: 2 per customer)")
    parser.add_argument(
        "--currency", default=_DEFAULTS.currency, help="ISO-4217 currency (%(default)s)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Simulate with the parsed ``args``, write ``args.out`` and print a one-line summary.

    Raises
    ------
    CommandError
        When a setting is out of range or the file cannot be written.
    """
    try:
        config = SimulationConfig(
            customers=args.customers,
            days=args.days,
            seed=args.seed,
            terminals=args.terminals,
            start_date=args.start_date,
            currency=args.currency,
        )
    except SimulationConfigError as exc:
        raise CommandError(str(exc)) from exc
    frame = simulate(config)
    try:
        write_csv(frame, args.out)
    except OSError as exc:
        raise CommandError(f"cannot write {args.out}: {exc.strerror}") from exc
    print(summary(frame, args.out))
    return 0


def summary(frame: pd.DataFrame, out: Path) -> str:
    """One line: rows written, frauds and their count per pattern."""
    frauds = int(frame["is_fraud"].sum())
    counts = frame["fraud_scenario"].value_counts()
    patterns = ", ".join(f"{name} {int(counts.get(name, 0))}" for name in SCENARIOS)
    share = 100 * frauds / max(len(frame), 1)
    return f"{out}: {len(frame)} rows, {frauds} frauds ({share:.2f} %): {patterns}"


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from None
