"""Resource limits of the rule language, as named constants.

Every limit is enforced while compiling an expression (never by Python running out of
stack or memory), so that an analyst's text cannot make the service slow or crash it.
Exceeding one raises ``RuleLimitError`` with the position of the offending token.
"""

from __future__ import annotations

MAX_EXPRESSION_LENGTH = 2_000
"""Characters in an expression's text."""

MAX_DEPTH = 32
"""Levels of nesting: parentheses, operands, arguments and the depth of the syntax tree."""

MAX_NODES = 500
"""Nodes in the syntax tree (each literal, name, operator, call and list item is one)."""

MAX_IDENTIFIER_LENGTH = 64
"""Characters in an identifier (a dotted path counts as a whole) or a list name."""

MAX_STRING_LENGTH = 256
"""Characters in a string literal, after its escapes are decoded."""

MAX_NUMBER_MAGNITUDE = 1e15
"""Largest absolute value of a number literal (exact as an IEEE double)."""

MAX_LIST_ITEMS = 100
"""Items in a list literal such as ``[1, 2, 3]``."""

MAX_REGEX_LENGTH = 100
"""Characters in a ``matches`` pattern."""

MAX_REGEX_INPUT_LENGTH = 256
"""Longest text ``matches`` searches; a longer one gives null (the transaction contract caps
its strings at the same length)."""

MAX_REGEX_REPEAT = 100
"""Largest bound in a ``{m,n}`` repetition of a pattern."""

MAX_REGEX_BACKTRACKING = MAX_REGEX_INPUT_LENGTH**2
"""Budget of a pattern: the product of the choices of its repetitions (an unbounded one
counts as ``MAX_REGEX_INPUT_LENGTH``, ``?`` as 2, ``{m,n}`` as ``n - m + 1``) and of the
branches of its alternations. Two unbounded repetitions fit, three do not."""

MAX_EXPLAIN_VALUE_LENGTH = 64
"""Characters of a value shown by ``CompiledExpression.explain`` before it is cut."""

# -- Rule sets and lists (enforced by the API and the stores, not by the language) --------

MAX_RULES = 200
"""Rules in one rule set, whatever their mode."""

MAX_RULE_SET_BYTES = 300_000
"""Bytes of a stored rule set version (one DynamoDB item holds it; the limit is 400 KB)."""

MAX_LIST_LOOKUPS = 64
"""``in @list`` lookups in one rule set (each costs at most one key of the scoring fetch,
so that a transaction's decision, state and list keys fit one ``BatchGetItem`` of 100)."""

MAX_RULE_ID_LENGTH = 64
"""Characters of a rule id."""

MAX_DESCRIPTION_LENGTH = 500
"""Characters of a rule's description or a list item's note."""

MIN_PRIORITY, MAX_PRIORITY = 0, 1_000
"""Range of a rule's priority (higher wins among rules of the same action)."""

MIN_SUSPENSION_SECONDS, MAX_SUSPENSION_SECONDS = 60, 365 * 86_400
"""Range of a suspension's duration."""

MAX_RULE_BODY_BYTES = 16_384
"""Bytes of a request body holding one rule (or an expression to test)."""

MAX_IMPORT_BODY_BYTES = 1_048_576
"""Bytes of a request body importing a rule set."""

MAX_REVISIONS_PER_VERSION = 90
"""New rule revisions written in one version (one atomic ``TransactWriteItems``); a larger
import becomes several consecutive versions."""

MAX_LIST_VALUE_LENGTH = 256
"""Characters of a list item's value (the transaction contract's longest string)."""

MAX_LIST_ITEMS_PER_REQUEST = 1_000
"""List items added by one request (``fraudctl lists upload`` sends larger files in parts)."""

MAX_LIST_BODY_BYTES = 262_144
"""Bytes of a request body adding list items."""

MAX_PAGE_SIZE = 1_000
"""Items, versions or revisions returned by one listing request."""
