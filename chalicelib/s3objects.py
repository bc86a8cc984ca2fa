"""Reading one S3 object with the package's errors (registry, reports)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import FraudServiceError, NotFoundError

MISSING_CODES = ("NoSuchKey", "404")


def read_object(s3: Any, bucket: str, key: str, error: type[FraudServiceError]) -> bytes:
    """The bytes of ``s3://bucket/key``.

    Raises
    ------
    NotFoundError
        There is no such object.
    error
        S3 failed otherwise (access, network).
    """
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in MISSING_CODES:
            raise NotFoundError(f"s3://{bucket}/{key} does not exist") from exc
        raise error(f"cannot read s3://{bucket}/{key}: {exc}") from exc
    except BotoCoreError as exc:
        raise error(f"cannot read s3://{bucket}/{key}: {exc}") from exc
