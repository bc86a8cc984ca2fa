"""Rule files: one rule, or a pack ``{"rules": [...]}`` (``rules/default.json``), in JSON.

What ``GET /v1/rules`` answers is a pack too: the fields it adds to each rule (revision,
author, version) are dropped when a file is read, so a saved rule set can be loaded back
or backtested as it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fraudctl.errors import CommandError

DEFAULT_PACK = Path(__file__).resolve().parents[1] / "rules" / "default.json"
VIEW_FIELDS = frozenset({"revision", "updated_at", "updated_by", "rules_version"})


def rule_body(rule: Any) -> Any:
    """``rule`` without the fields the API adds when it shows one."""
    if not isinstance(rule, dict):
        return rule
    return {name: value for name, value in rule.items() if name not in VIEW_FIELDS}


def read_rules_file(path: Path) -> dict[str, Any]:
    """A rule (a JSON object) or a pack (an object with ``rules``), view fields dropped.

    Raises
    ------
    CommandError
        The file is missing or not such JSON.
    """
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandError(f"cannot read rules from {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise CommandError(f"{path}: expected a JSON object (a rule, or a pack with 'rules')")
    if "rules" not in document:
        return rule_body(document)
    if not isinstance(document["rules"], list):
        raise CommandError(f"{path}: 'rules' must be a list")
    return {**document, "rules": [rule_body(rule) for rule in document["rules"]]}


def load_pack(dynamodb: Any, config_table: str, path: Path, author: str) -> str:
    """Import the pack at ``path`` into a stage's config table (as ``POST
    /v1/rules/import`` would, validated against the online features); returns the rules
    version in force."""
    from chalicelib.features.online import OnlineFeatures
    from chalicelib.rules import Schema
    from chalicelib.rules.dynamodb import DynamoRuleStore
    from chalicelib.rules.service import RulesService, rules_version

    service = RulesService(
        DynamoRuleStore(dynamodb, config_table), Schema.for_transaction(OnlineFeatures().names)
    )
    service.import_rules({"rules": read_rules_file(path)["rules"]}, author)
    return rules_version(service.current().version)
