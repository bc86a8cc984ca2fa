"""Who may call which route.

* Scoring (``POST /v1/score``): an API key, tied to a usage plan with throttling and a
  quota (``infra/``), given to payment frontends.
* Analyst routes (decisions, feedback, rules, lists, reports): AWS IAM (SigV4-signed
  requests), a separate and stronger authorization granted per IAM principal.
* ``GET /v1/health`` is open (load balancers and uptime checks).

``chalice local`` and ``chalice.test.Client`` do not enforce these; API Gateway does.
"""

from __future__ import annotations

from typing import Any

from chalice import IAMAuthorizer

ANALYST: dict[str, Any] = {"authorizer": IAMAuthorizer()}
SCORING: dict[str, Any] = {"api_key_required": True}
