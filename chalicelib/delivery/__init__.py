"""Alert delivery: every decision alert reaches the topic, at least once, without a
DynamoDB call on the scoring path.

The decisions table is the outbox of record: a decision that asks for an alert is
committed with ``alert: true`` and its insertion appears on the table's stream. The
``publish_alerts`` function consumes the stream (``service.AlertDelivery.deliver``):
it skips alerts already marked published, publishes with bounded retries, marks each
published alert (``alert_published_at``, conditional), and puts the ones the topic keeps
refusing on the outbox queue, which ``drain_alert_outbox`` empties on a schedule. See
docs/alerts.md for the guarantees and their limits.
"""
