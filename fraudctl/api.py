"""A small client of the service's HTTP API for the commands that manage rules and lists
(and the URL and signer ``fraudctl replay`` sends its labels with).

``fraudctl rules`` and ``fraudctl lists`` go through the API rather than to DynamoDB: the
API validates every change, hashes personal list values with the service's key, records
the author and makes running functions see the change. The API is found through
``.local/stack.json`` (``make run``) unless ``--url`` names another one. Requests to a
deployed API (any host but the loopback) are signed with SigV4 from the default AWS
credentials, as its IAM-authorised analyst routes require; the author is then the
signing principal. Unsigned requests name their author in ``X-Fraud-Author``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from fraudctl.errors import CommandError
from fraudctl.stackinfo import load_stack

AUTHOR_HEADER = "X-Fraud-Author"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TIMEOUT_SECONDS = 30


class ApiError(CommandError):
    """The API answered with an error status (``status``); the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# (method, url, headers, body) -> (status, response body)
Send = Callable[[str, str, dict[str, str], bytes | None], tuple[int, bytes]]


def urllib_send(
    method: str, url: str, headers: dict[str, str], body: bytes | None
) -> tuple[int, bytes]:
    """Send one request with ``urllib``; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError as error:
        raise CommandError(f"cannot reach the API at {url}: {error}") from error


class Signer:
    """Signs requests with SigV4 for API Gateway (service ``execute-api``)."""

    def __init__(self, region: str, credentials: Any = None) -> None:
        if credentials is None:
            import boto3

            credentials = boto3.session.Session().get_credentials()
        if credentials is None:
            raise CommandError("no AWS credentials to sign the request with")
        self.region = region
        self.credentials = credentials

    def headers(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        SigV4Auth(self.credentials, "execute-api", self.region).add_auth(request)
        return dict(request.headers.items())


class ApiClient:
    """JSON requests to the API at ``base_url``.

    Parameters
    ----------
    base_url:
        Where the API answers (``http://127.0.0.1:8000``).
    author:
        Sent as ``X-Fraud-Author`` (used by the API only when the request is unsigned).
    signer:
        Signs each request (deployed APIs), or ``None``.
    send:
        The transport (tests pass one that calls the app in process).
    """

    def __init__(
        self,
        base_url: str,
        author: str,
        signer: Signer | None = None,
        send: Send = urllib_send,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.author = author
        self.signer = signer
        self.send = send

    def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        query: Mapping[str, Any] | None = None,
    ) -> Any:
        """The decoded JSON answer.

        Raises
        ------
        ApiError
            The API answered an error (its message, every bad field and, for an
            expression, where the error is).
        CommandError
            The API cannot be reached, or its answer is not JSON.
        """
        params = {k: v for k, v in (query or {}).items() if v is not None}
        url = self.base_url + path + (f"?{urlencode(params)}" if params else "")
        body = json.dumps(payload).encode() if payload is not None else None
        headers = {"Content-Type": "application/json", AUTHOR_HEADER: self.author}
        if self.signer is not None:
            headers = self.signer.headers(method, url, headers, body)
        status, raw = self.send(method, url, headers, body)
        try:
            answer = json.loads(raw) if raw else {}
        except json.JSONDecodeError as error:
            raise CommandError(f"{method} {path}: HTTP {status}, not JSON") from error
        if status >= 400:
            raise ApiError(status, describe_error(status, answer))
        return answer


def describe_error(status: int, answer: Any) -> str:
    """An API error as one readable message."""
    if not isinstance(answer, Mapping):
        return f"HTTP {status}"
    lines = [f"HTTP {status} {answer.get('error', 'error')}: {answer.get('message', '')}"]
    for field in answer.get("fields", []):
        where = f" (position {field['position']})" if "position" in field else ""
        lines.append(f"  {field['field']}: {field['message']}{where}")
    return "\n".join(lines)


def path_part(value: str) -> str:
    """``value`` encoded as one path segment (``/`` included)."""
    return quote(value, safe="")


def add_api_arguments(parser: Any, region: bool = True, author: bool = True) -> None:
    """``--url``, ``--author`` (for commands that change something), ``--sign`` /
    ``--no-sign`` and (unless the command has one already) ``--region``, on a parser or an
    argument group."""
    parser.add_argument("--url", help="the API (default: the local stack's, .local/stack.json)")
    if author:
        parser.add_argument(
            "--author", default=None, help="who makes the change when unsigned (default: $USER)"
        )
    parser.add_argument(
        "--sign",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="SigV4-sign requests (default: when the API is not on this machine)",
    )
    if region:
        parser.add_argument("--region", help="region of a signed request (default: the stack's)")


def client_from_args(args: argparse.Namespace, send: Send = urllib_send) -> ApiClient:
    """The client the parsed arguments describe."""
    url, signer = api_from_args(args)
    return ApiClient(url, args.author or getpass.getuser(), signer, send)


def api_from_args(args: argparse.Namespace) -> tuple[str, Signer | None]:
    """The API's URL (``--url``, else the local stack's) and the signer of its requests:
    ``--sign`` / ``--no-sign``, by default when the API is not on this machine, in
    ``--region`` (else the stack's, else the AWS session's)."""
    stack: dict[str, Any] = {} if args.url else load_stack()
    url: str = args.url or stack["api_url"]
    sign = args.sign if args.sign is not None else urlsplit(url).hostname not in LOOPBACK_HOSTS
    if not sign:
        return url, None
    return url, Signer(args.region or stack.get("region") or _default_region())


def _default_region() -> str:
    import boto3

    region = boto3.session.Session().region_name
    if not region:
        raise CommandError("--region is required to sign requests")
    return region
