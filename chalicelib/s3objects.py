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
    return read_tagged_object(s3, bucket, key, error)[0]


def read_tagged_object(
    s3: Any, bucket: str, key: str, error: type[FraudServiceError]
) -> tuple[bytes, str]:
    """The bytes of ``s3://bucket/key`` and their ETag, which a conditional write
    (``IfMatch``) names to replace exactly what was read. Raises as ``read_object``."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
        return response["Body"].read(), str(response["ETag"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in MISSING_CODES:
            raise NotFoundError(f"s3://{bucket}/{key} does not exist") from exc
        raise error(f"cannot read s3://{bucket}/{key}: {exc}") from exc
    except BotoCoreError as exc:
        raise error(f"cannot read s3://{bucket}/{key}: {exc}") from exc
