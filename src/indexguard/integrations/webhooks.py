"""Signed webhooks for sites: the public names a site's receiver and sender use.

The implementation is workflow (indexguard.cases.webhooks: the service sends case events with it);
this module keeps the integrations' import path.
"""

from __future__ import annotations

from indexguard.cases.webhooks import (
    DEFAULT_TOLERANCE,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    MAX_BODY_BYTES,
    SIGNATURE_HEADER,
    Attempt,
    Delivery,
    Endpoint,
    Outbox,
    ReplayCache,
    RetryPolicy,
    WebhookEvent,
    WebhookSender,
    WebhookVerificationError,
    case_event,
    decision_event,
    parse_signature,
    sign,
    verify,
)

__all__ = [
    "DEFAULT_TOLERANCE", "EVENT_ID_HEADER", "EVENT_TYPE_HEADER", "MAX_BODY_BYTES", "SIGNATURE_HEADER", "Attempt",
    "Delivery", "Endpoint", "Outbox", "ReplayCache", "RetryPolicy", "WebhookEvent", "WebhookSender",
    "WebhookVerificationError", "case_event", "decision_event", "parse_signature", "sign", "verify",
]
