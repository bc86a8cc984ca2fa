"""The alerts topic on SNS."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as EndpointError

from chalicelib.alerts import AlertError, AlertMessage, TransientAlertError

# SNS errors worth retrying: throttling and the service's own failures. Anything else
# (authorisation, a missing topic, a bad parameter) fails the same way when retried.
TRANSIENT_SNS_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "KMSThrottlingException",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "RequestTimeout",
    }
)


class SnsTopic:
    """An SNS topic (the client's own retries apply first, bounded by ``chalicelib.aws``)."""

    def __init__(self, sns: Any, topic_arn: str) -> None:
        self.sns = sns
        self.topic_arn = topic_arn

    def send(self, message: AlertMessage) -> str:
        try:
            response = self.sns.publish(
                TopicArn=self.topic_arn,
                Message=json.dumps(message.body, default=str),
                MessageAttributes=message.attributes,
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            transient = code in TRANSIENT_SNS_CODES or status >= 500
            error = TransientAlertError if transient else AlertError
            raise error(f"alert {message.key} not published: {code or exc}") from exc
        except (EndpointError, HTTPClientError) as exc:
            raise TransientAlertError(f"alert {message.key} not published: {exc}") from exc
        except BotoCoreError as exc:
            raise AlertError(f"alert {message.key} not published: {exc}") from exc
        return str(response.get("MessageId", ""))
