"""Where the protocol layer and the journey engine meet, and nothing else.

* ``start_journey(policy_id, authorization_request, hints)``: the protocol has an
  authorization request that needs someone to sign in; the journey engine takes over.
* ``finish`` (registered by the protocol layer as ``app.extensions["idp.finish"]``):
  here is the finished authentication; answer the saved authorization request.

The saved request is opaque to the journey engine: it keeps it and hands it back.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, redirect, url_for

from idp.extensions import db
from idp.journeys import context as keys
from idp.protocol.sessions import remember_journey
from idp.runtime import runtime
from idp.security.digests import new_secret
from idp.store.models import JourneyState


def start_journey(
    policy_id: str, authorization_request: dict[str, Any], hints: dict[str, str | None]
) -> Response:
    rt = runtime()
    now = rt.clock.now()
    policy = rt.policies.get(policy_id)
    assert policy is not None  # checked by the protocol layer before it calls
    context: dict[str, Any] = {}
    if hints.get("login_hint"):
        context[keys.LOGIN_HINT] = hints["login_hint"]
    state = JourneyState(
        journey_id=new_secret(24),
        policy_id=policy.id,
        authorization_request=authorization_request,
        context=context,
        step_index=0,
        created_at=now,
        expires_at=now + timedelta(seconds=rt.settings["journeys.lifetime"]),
    )
    db.session.add(state)
    db.session.commit()
    remember_journey(state.journey_id)
    return redirect(url_for("journeys.page", journey_id=state.journey_id))
