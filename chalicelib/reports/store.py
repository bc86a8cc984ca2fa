"""Reports in the artifacts bucket: ``<prefix>/<date>/report.json`` and ``report.html``
(``prefix`` is ``reports/<stage>``)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import NotFoundError, StoreError
from chalicelib.s3objects import read_object

JSON_FILE = "report.json"
HTML_FILE = "report.html"
CONTENT_TYPES = {JSON_FILE: "application/json", HTML_FILE: "text/html; charset=utf-8"}


class S3ReportStore:
    """Reads and writes reports (``s3``: boto3 client, from ``chalicelib.aws``)."""

    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix.rstrip("/")

    def key(self, day: str, name: str) -> str:
        return f"{self.prefix}/{day}/{name}"

    def put(self, day: str, report: dict[str, Any], page: str) -> None:
        """Store both files of ``day`` (the JSON last: it marks the report complete)."""
        for name, data in ((HTML_FILE, page), (JSON_FILE, json.dumps(report, indent=1))):
            try:
                self.s3.put_object(
                    Bucket=self.bucket,
                    Key=self.key(day, name),
                    Body=data.encode(),
                    ContentType=CONTENT_TYPES[name],
                )
            except (ClientError, BotoCoreError) as exc:
                raise StoreError(f"cannot write {self.key(day, name)}: {exc}") from exc

    def get(self, day: str, name: str) -> str:
        """One file of ``day``'s report.

        Raises
        ------
        NotFoundError
            There is no report of that day.
        StoreError
            S3 failed otherwise.
        """
        try:
            return read_object(self.s3, self.bucket, self.key(day, name), StoreError).decode()
        except NotFoundError as exc:
            raise NotFoundError(f"no report for {day}") from exc

    def get_json(self, day: str) -> dict[str, Any]:
        """``day``'s report.json, decoded (``NotFoundError`` when there is none)."""
        return json.loads(self.get(day, JSON_FILE))
