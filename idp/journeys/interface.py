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

from flask import Response, current_app, redirect, request, url_for

from idp.clock import timestamp
from idp.extensions import commit_keeping_loaded, db
from idp.journeys import context as keys
from idp.journeys.executor import Executor, JourneyProgress
from idp.journeys.results import Authentication, Completed
from idp.journeys.services import SqlJourneyServices
from idp.protocol.sessions import remember_journey
from idp.runtime import runtime
from idp.security.digests import new_secret
from idp.store.models import JourneyState


def start_journey(
    policy_id: str,
    authorization_request: dict[str, Any],
    hints: dict[str, Any],
    interactive: bool = True,
) -> Response | None:
    """Begin a journey and run it as far as it goes without asking anything.

    ``hints``: ``login_hint`` from the request, and ``signed_in`` (an Authentication and
    its session id) when the browser's session already knows the person. A journey that
    needs nothing from the person (single sign-on) finishes here and answers the
    request; otherwise the browser goes to its first page, or, when ``interactive`` is
    false (``prompt=none``), the answer is None and nothing is kept.
    """
    rt = runtime()
    now = rt.clock.now()
    policy = rt.policies.get(policy_id)
    assert policy is not None  # checked by the protocol layer before it calls
    context: dict[str, Any] = {}
    if hints.get("login_hint"):
        context[keys.LOGIN_HINT] = hints["login_hint"]
    last_route = request.cookies.get("gatehouse_last_route", "")
    if last_route in ("local", "microsoft", "google", "facebook", "oidc"):
        context[keys.LAST_ROUTE] = last_route
    journey_id = new_secret(24)
    signed_in: Authentication | None = hints.get("signed_in")
    if signed_in is not None:
        services = SqlJourneyServices(rt, policy, journey_id)
        context.update(
            {keys.claim(k): v for k, v in services.load_claims(signed_in.user_object_id).items()}
        )
        context.update(
            {
                keys.USER_OBJECT_ID: signed_in.user_object_id,
                keys.ROUTE: signed_in.route,
                keys.AMR: list(signed_in.amr),
                keys.AUTH_TIME: signed_in.auth_time,
                keys.SESSION_SID: signed_in.session_sid,
            }
        )
    state = JourneyState(
        journey_id=journey_id,
        policy_id=policy.id,
        authorization_request=authorization_request,
        context=context,
        step_index=0,
        created_at=now,
        expires_at=now + timedelta(seconds=rt.settings["journeys.lifetime"]),
    )
    progress = JourneyProgress(0, dict(context))
    services = SqlJourneyServices(rt, policy, journey_id)
    outcome = Executor(policy, services).show(progress, timestamp(now))
    if not isinstance(outcome, Completed) and not interactive:
        db.session.rollback()
        return None
    state.step_index = progress.step_index
    state.context = {k: v for k, v in progress.context.items() if v is not None}
    db.session.add(state)
    commit_keeping_loaded()
    remember_journey(journey_id)
    if isinstance(outcome, Completed):
        state.completed_at = now
        finish = current_app.extensions["idp.finish"]
        response: Response = finish(state.authorization_request, outcome.authentication)
        db.session.commit()
        return response
    return redirect(url_for("journeys.page", journey_id=state.journey_id))
