"""The append-only audit log of security events.

record("signin.succeeded", user=user, client_id="parent-portal", details={"route": "local"})
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, request

from idp.extensions import db
from idp.metrics import EVENTS
from idp.store.models import AuditEvent, User


def record(
    event_type: str,
    *,
    user: User | None = None,
    user_object_id: str | None = None,
    client_id: str | None = None,
    actor: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction; the caller's commit writes it."""
    event = AuditEvent(
        occurred_at=current_app.extensions["idp.clock"].now(),
        event_type=event_type,
        user_object_id=user.object_id if user is not None else user_object_id,
        client_id=client_id,
        actor=actor,
        ip_address=request.remote_addr if has_request_context() else None,
        details=details or {},
    )
    db.session.add(event)
    EVENTS.labels(type=event_type).inc()
    return event
