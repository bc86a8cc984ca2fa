"""Published markers on the decisions table: ``alert_published_at`` and ``alert_message_id``.

Reads are one consistent ``BatchGetItem`` per 100 keys (projection: the key and the
marker); a mark is a conditional ``UpdateItem`` that succeeds once per decision. Neither
runs on the scoring path: only the alert functions call them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.delivery.service import MarkError

MAX_KEYS = 100
MAX_UNPROCESSED_ROUNDS = 5
PUBLISHED_AT = "alert_published_at"
MESSAGE_ID = "alert_message_id"
MARK_CONDITION = "attribute_exists(transaction_id) AND attribute_not_exists(#at)"


class DynamoAlertMarks:
    """``AlertMarks`` on the decisions table (``client`` from ``chalicelib.aws``)."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def published(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), MAX_KEYS):
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [
                        {"transaction_id": {"S": k}} for k in unique[start : start + MAX_KEYS]
                    ],
                    "ProjectionExpression": "transaction_id, #at",
                    "ExpressionAttributeNames": {"#at": PUBLISHED_AT},
                    "ConsistentRead": True,
                }
            }
            for _ in range(MAX_UNPROCESSED_ROUNDS):
                try:
                    response = self.client.batch_get_item(RequestItems=request)
                except (ClientError, BotoCoreError) as exc:
                    raise MarkError(f"cannot read alert markers: {exc}") from exc
                found |= {
                    item["transaction_id"]["S"]
                    for item in response.get("Responses", {}).get(self.table, [])
                    if PUBLISHED_AT in item
                }
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise MarkError("DynamoDB left alert markers unread (throttled)")
        return found

    def mark(self, key: str, message_id: str, at: str) -> bool:
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"transaction_id": {"S": key}},
                UpdateExpression="SET #at = :at, #id = :id",
                ConditionExpression=MARK_CONDITION,
                ExpressionAttributeNames={"#at": PUBLISHED_AT, "#id": MESSAGE_ID},
                ExpressionAttributeValues={":at": {"S": at}, ":id": {"S": message_id}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise MarkError(f"cannot mark alert {key} published: {exc}") from exc
        except BotoCoreError as exc:
            raise MarkError(f"cannot mark alert {key} published: {exc}") from exc
        return True
