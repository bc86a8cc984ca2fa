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
