"""Run by tests/deploy/test_bundle_runs.py under ``python -I -S -B``: the Lambda runtime's view.

Arguments: the unzipped bundle, a directory holding the runtime's boto3 and its
dependencies, and a JSON file of events by handler (``api``: API Gateway proxy events for
``app.app``, ``sqs``: SQS events for ``app.score_queue``, ``stream``: DynamoDB stream
events for ``app.publish_alerts``, ``drain`` and ``report``: scheduled events for
``app.drain_alert_outbox`` and ``app.daily_report``), invoked in order. Only the two
directories are importable besides the standard library, in the order Lambda uses
(``/var/task``, then ``/var/runtime``). Invokes the handlers as Lambda does, on a cold
start, and prints ``REPORT <json>`` as its last line.
"""

import importlib.util
import json
import os
import sys

bundle_dir, runtime_dir, events_path = sys.argv[1:4]
sys.path[:0] = [bundle_dir, runtime_dir]


class Context:
    """The attributes of a Lambda context object the handlers read."""

    function_name = "fraud-bundle-api-handler"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:fraud-bundle"
    memory_limit_in_mb = 512
    aws_request_id = "8f5e5bd2-0000-4000-8000-000000000001"
    log_group_name = "/aws/lambda/fraud-bundle-api-handler"
    log_stream_name = "2025/03/14/[$LATEST]0001"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


import app  # noqa: E402 (after the path is set, as Lambda imports the handler)

HANDLERS = {
    "api": app.app,
    "sqs": app.score_queue,
    "stream": app.publish_alerts,
    "drain": app.drain_alert_outbox,
    "report": app.daily_report,
}
with open(events_path) as handle:
    events = json.load(handle)
responses = {name: [HANDLERS[name](e, Context()) for e in evs] for name, evs in events.items()}
# Modules the handlers are meant to do without (the report says which they imported).
WATCHED = ("asyncio", "boto3", "joblib", "requests")
imported = [name for name in WATCHED if name in sys.modules]

import aws_xray_sdk.core  # noqa: E402, F401 (powertools' tracer and its compiled wrapt)
import joblib  # noqa: E402, F401 (bundled for models of formats 1-2: where it comes from)
import wrapt._wrappers  # noqa: E402, F401
from aws_xray_sdk.core import patcher  # noqa: E402

from chalicelib import observability  # noqa: E402

from_bundle = [
    module
    for module in list(sys.modules.values())
    if (getattr(module, "__file__", None) or "").startswith(bundle_dir + "/")
    and module.__file__.endswith(".py")
]
modules = ("app", "chalicelib", "numpy", "joblib", "aws_xray_sdk", "wrapt", "botocore")
report = {
    "python": list(sys.version_info[:2]),
    "responses": responses,
    "origins": {name: sys.modules[name].__file__ for name in modules},
    "sys_path": sys.path,
    "from_bundle": len(from_bundle),
    "compiled_at_import": sorted(
        m.__name__ for m in from_bundle if not os.path.exists(m.__cached__)
    ),
    "tracing": {
        "enabled": not observability.tracer.disabled,
        "patched": sorted(patcher._PATCHED_MODULES),
    },
    "imported": imported,
    "training_importable": [
        name for name in ("sklearn", "scipy", "pandas") if importlib.util.find_spec(name)
    ],
}
print("REPORT " + json.dumps(report))
