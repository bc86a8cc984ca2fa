"""docs/rules.md stays true: its examples compile and its error examples are exact."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chalicelib.rules import RuleError, Schema, compile_expression

DOC = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
SCHEMA = Schema.for_transaction(
    [
        "customer_nb_tx_1d",
        "customer_avg_amount_30d",
        "customer_amount_ratio_30d",
        "terminal_risk_7d",
    ]
)
EXAMPLES = [
    line
    for block in re.findall(r"```rule\n(.*?)```", DOC, flags=re.DOTALL)
    for line in block.splitlines()
    if line.strip()
]
ERROR_ROW = re.compile(
    r"^\| `(?P<text>.+?)` \| (?P<code>rule_\w+) \| (?P<position>\d+) \| `(?P<expected>.+?)` \|",
    re.MULTILINE,
)
ERROR_EXAMPLES = [match.groupdict() for match in ERROR_ROW.finditer(DOC)]


def test_documentation_has_examples() -> None:
    assert len(EXAMPLES) >= 20
    assert len(ERROR_EXAMPLES) >= 20


@pytest.mark.parametrize("text", EXAMPLES)
def test_documented_example_compiles(text: str) -> None:
    compile_expression(text, SCHEMA)


@pytest.mark.parametrize("row", ERROR_EXAMPLES, ids=[row["text"] for row in ERROR_EXAMPLES])
def test_documented_error_is_exact(row: dict[str, str]) -> None:
    with pytest.raises(RuleError) as caught:
        compile_expression(row["text"], SCHEMA)
    error = caught.value
    assert (error.code, error.position, error.expected) == (
        row["code"],
        int(row["position"]),
        row["expected"],
    )


def test_documented_http_body_is_exact() -> None:
    block = re.search(r"```json\n(.*?)```", DOC, flags=re.DOTALL)
    assert block is not None
    body = json.loads(block.group(1))
    with pytest.raises(RuleError) as caught:
        compile_expression("(amount > 5", SCHEMA)
    assert caught.value.to_dict() == body
