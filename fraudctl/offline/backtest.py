"""Backtesting an expression on a labelled file, beside the current rule set.

Every row is evaluated as the service would evaluate it: features from the offline engine
(the online definitions), the default model's score when an expression reads ``score`` or
``risk_score``, and the same ``CompiledRuleSet`` context (lists given as files; none by
default). For the candidate and each current rule: hits, hit rate, precision, recall, the
amount hit and the fraud amount hit. Combined: the transactions the active rules send to
review or block (allow rules first, as online), without and with the candidate.

Suspensions are counted on the transaction that fires them; the later transactions they
would block are not simulated.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chalicelib.identifiers import IdentifierHasher
from chalicelib.model.artifact import load_directory
from chalicelib.rules import Schema
from chalicelib.rules.definitions import Rule, parse_rule
from chalicelib.rules.lists import ListValues
from chalicelib.rules.ruleset import SUSPENSION_RULE_PREFIX, CompiledRuleSet
from chalicelib.rules.validation import BodyValidationError
from chalicelib.transaction import LABEL_FIELD, OPTIONAL_STRING_FIELDS, Transaction
from fraudctl.api import describe_error
from fraudctl.data import read_transactions
from fraudctl.errors import CommandError
from fraudctl.offline.features import compute_features

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = ROOT / "model_artifacts" / "default"
CANDIDATE_ID = "candidate"
FLAGGING = {"block": "block", "suspend": "block", "review": "review"}
SCORES = frozenset({"score", "risk_score"})


@dataclass(frozen=True)
class RuleStats:
    """What one rule (or a combination) hits in the file."""

    name: str
    action: str
    mode: str
    expression: str
    hits: int
    hit_rate: float
    precision: float | None
    recall: float | None
    amount: float
    fraud_amount: float


@dataclass(frozen=True)
class BacktestReport:
    """The backtest of ``candidate`` beside the rules of ``current_source``."""

    data: str
    transactions: int
    frauds: int
    days: tuple[str, str]
    current_source: str
    candidate: RuleStats
    rules: list[RuleStats]
    current: RuleStats
    combined: RuleStats
    new_frauds: int
    new_false_positives: int
    refused: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def stats(
    name: str,
    action: str,
    mode: str,
    expression: str,
    hit: np.ndarray,
    labels: np.ndarray,
    amounts: np.ndarray,
) -> RuleStats:
    """Hits, hit rate, precision, recall and amounts of the boolean mask ``hit``."""
    hits = int(hit.sum())
    caught = hit & labels
    frauds = int(labels.sum())
    return RuleStats(
        name=name,
        action=action,
        mode=mode,
        expression=expression,
        hits=hits,
        hit_rate=hits / len(hit) if len(hit) else 0.0,
        precision=float(caught.sum()) / hits if hits else None,
        recall=float(caught.sum()) / frauds if frauds else None,
        amount=round(float(amounts[hit].sum()), 2),
        fraud_amount=round(float(amounts[caught].sum()), 2),
    )


def flagged(rules: Sequence[Rule], hits: Mapping[str, np.ndarray], rows: int) -> np.ndarray:
    """Rows the active ``rules`` send to review or block (an allow rule overrides both)."""
    allow = np.zeros(rows, dtype=bool)
    flag = np.zeros(rows, dtype=bool)
    for rule in rules:
        if rule.mode != "active":
            continue
        if rule.action == "allow":
            allow |= hits[rule.rule_id]
        elif rule.action in FLAGGING:
            flag |= hits[rule.rule_id]
    return flag & ~allow


def transactions(frame: pd.DataFrame) -> Iterable[Transaction]:
    """The rows of ``frame`` as transactions (absent optional fields are ``None``)."""
    optional = [name for name in OPTIONAL_STRING_FIELDS if name in frame]

    def column(name: str) -> list[Any]:
        values = frame[name].astype(object)
        return values.where(values.notna(), None).tolist()

    currency = column("currency") if "currency" in frame else ["EUR"] * len(frame)
    for row in zip(
        column("transaction_id"),
        frame["timestamp"].dt.to_pydatetime().tolist(),
        frame["event_time"].tolist(),
        frame["amount"].tolist(),
        currency,
        column("customer_id"),
        column("terminal_id"),
        *map(column, optional),
        strict=True,
    ):
        txid, stamp, event_time, amount, cur, customer, terminal, *values = row
        yield Transaction(
            transaction_id=str(txid),
            timestamp=stamp,
            event_time=int(event_time),
            amount=float(amount),
            currency=str(cur),
            customer_id=str(customer),
            terminal_id=str(terminal),
            **dict(zip(optional, values, strict=True)),
        )


def _parse(body: Any, schema: Schema, what: str) -> Rule:
    try:
        return parse_rule(body, schema)
    except BodyValidationError as error:
        raise CommandError(f"{what}:\n" + describe_error(400, error.to_dict())) from error


def run_backtest(
    expression: str,
    action: str,
    data: Path,
    current: tuple[str, list[dict[str, Any]]],
    model_dir: Path | None = None,
    lists: Mapping[str, set[str]] | None = None,
) -> BacktestReport:
    """Backtest ``expression`` (with ``action``) on the labelled file ``data``.

    Parameters
    ----------
    current:
        Where the current rules come from, and their bodies (disabled ones are skipped;
        ones that do not compile against the offline features are reported as refused).
    model_dir:
        Model scoring ``score`` / ``risk_score`` (default: the default model), loaded only
        when an expression reads them.
    lists:
        List name to its members (values in clear).

    Raises
    ------
    CommandError
        The file has no labels, or the expression is invalid (with its position).
    """
    frame = read_transactions(data)
    if LABEL_FIELD not in frame:
        raise CommandError(f"{data}: a backtest needs the {LABEL_FIELD} column")
    features = compute_features(frame)
    names = [column for column in features.columns if column != "transaction_id"]
    schema = Schema.for_transaction(names)
    candidate = _parse(
        {"rule_id": CANDIDATE_ID, "expression": expression, "action": action}, schema, "--expr"
    )
    source, bodies = current
    rules: list[Rule] = []
    refused: dict[str, str] = {}
    for body in bodies:
        try:
            rule = parse_rule(body, schema)
        except BodyValidationError as error:
            refused[str(body.get("rule_id"))] = str(error)
            continue
        if rule.rule_id == CANDIDATE_ID:
            raise CommandError(f"a current rule is called {CANDIDATE_ID!r}; rename it")
        if rule.mode != "disabled":
            rules.append(rule)

    values = ListValues(IdentifierHasher(secrets.token_bytes(16)))
    rule_set = CompiledRuleSet("backtest", [candidate, *rules], schema, values)
    items: dict[tuple[str, str], dict[str, Any]] = {
        (name, values.key(v)): {} for name, members in (lists or {}).items() for v in members
    }
    scored: list[float | None] = [None] * len(frame)
    if rule_set.identifiers & SCORES:
        model = load_directory(model_dir or DEFAULT_MODEL)
        matrix = features[list(model.feature_names)].to_numpy(np.float64)
        scored = model.scorer.score(matrix).scores.tolist()

    evaluated = [
        (c.rule.rule_id, c.expression.evaluator)
        for c in rule_set.compiled
        if not c.rule.rule_id.startswith(SUSPENSION_RULE_PREFIX)
    ]
    fired = np.zeros((len(frame), len(evaluated)), dtype=bool)
    values = features[names].to_numpy(np.float64).tolist()
    for row, tx in enumerate(transactions(frame)):
        context = rule_set.context(
            tx, dict(zip(names, values[row], strict=True)), scored[row], items
        )
        fired[row] = [evaluate(context) is True for _, evaluate in evaluated]
    hits = {rule_id: fired[:, index] for index, (rule_id, _) in enumerate(evaluated)}

    labels = frame[LABEL_FIELD].to_numpy().astype(bool)
    amounts = frame["amount"].to_numpy(np.float64)
    current_flagged = flagged(rules, hits, len(frame))
    combined = flagged([*rules, candidate], hits, len(frame))
    added = combined & ~current_flagged

    def measured(name: str, rule: Rule | None, mask: np.ndarray) -> RuleStats:
        if rule is None:
            return stats(name, "-", "active", "", mask, labels, amounts)
        return stats(name, rule.action, rule.mode, rule.expression, mask, labels, amounts)

    return BacktestReport(
        data=str(data),
        transactions=len(frame),
        frauds=int(labels.sum()),
        days=(str(frame["day"].iloc[0]), str(frame["day"].iloc[-1])) if len(frame) else ("", ""),
        current_source=source,
        candidate=measured(CANDIDATE_ID, candidate, hits[CANDIDATE_ID]),
        rules=[measured(r.rule_id, r, hits[r.rule_id]) for r in rules],
        current=measured("current rule set", None, current_flagged),
        combined=measured("current + candidate", None, combined),
        new_frauds=int((added & labels).sum()),
        new_false_positives=int((added & ~labels).sum()),
        refused=refused,
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def format_report(report: BacktestReport) -> str:
    """The report as a table."""
    lines = [
        f"{report.data}: {report.transactions:,} transactions from {report.days[0]} to "
        f"{report.days[1]}, {report.frauds:,} frauds "
        f"({_percent(report.frauds / report.transactions if report.transactions else None)})",
        f"current rules: {report.current_source}",
        "",
        f"{'rule':<28} {'action':<8} {'mode':<9} {'hits':>8} {'hit rate':>9} {'precision':>10} "
        f"{'recall':>8} {'amount':>14} {'fraud amount':>14}",
    ]
    rows = [report.candidate, *report.rules, report.current, report.combined]
    for index, row in enumerate(rows):
        if index in (1, len(rows) - 2):
            lines.append("")
        lines.append(
            f"{row.name[:28]:<28} {row.action:<8} {row.mode:<9} {row.hits:>8,} "
            f"{_percent(row.hit_rate):>9} {_percent(row.precision):>10} {_percent(row.recall):>8} "
            f"{row.amount:>14,.2f} {row.fraud_amount:>14,.2f}"
        )
    lines += [
        "",
        f"the candidate hits {report.new_frauds:,} frauds and {report.new_false_positives:,} "
        "legitimate transactions that the current rule set does not flag",
    ]
    lines += [
        f"refused (does not compile here): {rid}: {why}" for rid, why in report.refused.items()
    ]
    return "\n".join(lines)
