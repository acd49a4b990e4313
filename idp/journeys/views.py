"""Journey pages over HTTP: translate requests into executor calls and pages into HTML."""

from __future__ import annotations

import logging
from dataclasses import asdict

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select

from idp.clock import timestamp
from idp.extensions import commit_keeping_loaded, db
from idp.federation import FederationFailure
from idp.journeys import context as keys
from idp.journeys.executor import Executor, JourneyProgress
from idp.journeys.results import Completed, Leave, Page
from idp.journeys.services import SqlJourneyServices, find_pending_signup, follow_activation_link
from idp.protocol.sessions import SessionEnded, owns_journey
from idp.runtime import runtime
from idp.security import audit
from idp.security.throttle import journey_buckets
from idp.store.models import JourneyState

log = logging.getLogger(__name__)
bp = Blueprint("journeys", __name__)
_FEDERATING = "federating"


def _find(journey_id: str, lock: bool = False) -> JourneyState | None:
    query = select(JourneyState).where(JourneyState.journey_id == journey_id)
    if lock:
        # One request at a time per journey: two tabs (or an attacker's parallel guesses
        # at a code) must not each read the same attempt count and write it back.
        # PostgreSQL locks the row; SQLite transactions are already one at a time.
        query = query.with_for_update()
    return db.session.scalar(query)


def _live(state: JourneyState | None) -> bool:
    return (
        state is not None
        and state.completed_at is None
        and state.expires_at > runtime().clock.now()
    )


def _load(journey_id: str) -> JourneyState:
    state = _find(journey_id, lock=True)
    if state is None or not owns_journey(journey_id):
        abort(404)
    if not _live(state):
        return abort(Response(render_template("journey_expired.html"), 410))
    return state


def _respond(state: JourneyState, outcome: Page | Completed | Leave) -> Response:
    if isinstance(outcome, Leave):
        # Off to the provider; its answer comes back to /federation/<name>/callback.
        session[_FEDERATING] = state.journey_id
        db.session.commit()
        federation = current_app.extensions["idp.federation"]
        base = runtime().settings["server.base_url"]
        try:
            response: Response = federation.begin(
                outcome.provider, f"{base}/federation/{outcome.provider}/callback"
            )
        except FederationFailure as failure:
            # Could not even start (the provider's metadata is out of reach): the step
            # shows why, with the way back to the sign-in page.
            log.warning("federation with %s did not start: %s", outcome.provider, failure.detail)
            audit.record(
                "federation.failed",
                details={"provider": outcome.provider, "reason": failure.reason},
            )
            context = dict(state.context)
            context[keys.FEDERATION_ERROR] = {"reason": failure.reason, "message": failure.message}
            state.context = context
            db.session.commit()
            return redirect(url_for("journeys.page", journey_id=state.journey_id), 303)
        return response
    if isinstance(outcome, Completed):
        state.completed_at = runtime().clock.now()
        finish = current_app.extensions["idp.finish"]
        try:
            response = finish(state.authorization_request, outcome.authentication)
        except SessionEnded:
            db.session.commit()
            return Response(render_template("journey_expired.html"), 410)
        db.session.commit()
        return response
    policy = runtime().policies.get(state.policy_id)
    html = render_template(
        outcome.template,
        page=outcome,
        policy=policy,
        journey_id=state.journey_id,
        errors=outcome.errors,
        values=outcome.values,
        settings=outcome.settings,
    )
    return Response(html, 200, {"Cache-Control": "no-store"})


def _executor(state: JourneyState) -> Executor:
    rt = runtime()
    policy = rt.policies.get(state.policy_id)
    if policy is None:
        abort(410)
    return Executor(policy, SqlJourneyServices(rt, policy, state.journey_id))


@bp.get("/journey/<journey_id>")
def page(journey_id: str) -> Response:
    state = _load(journey_id)
    progress = JourneyProgress(state.step_index, dict(state.context))
    outcome = _executor(state).show(progress, timestamp(runtime().clock.now()))
    _save(state, progress)
    return _respond(state, outcome)


@bp.post("/journey/<journey_id>")
def submit(journey_id: str) -> Response:
    state = _load(journey_id)
    progress = JourneyProgress(state.step_index, dict(state.context))
    form = {key: request.form.get(key, "") for key in request.form}
    step_id = form.pop("step", "")
    form.pop("csrf_token", None)
    wait = _throttled(state, step_id, form)
    if wait:
        db.session.commit()
        return too_many_requests(wait, url_for("journeys.page", journey_id=journey_id))
    outcome = _executor(state).submit(progress, step_id, form, timestamp(runtime().clock.now()))
    _save(state, progress)
    moved_on = isinstance(outcome, Page) and outcome.step_id != step_id
    if (
        isinstance(outcome, Page)
        and not outcome.errors
        and (moved_on or request.form.get("action") is None)
    ):
        # Post/redirect/get once a step is done, so a refresh does not send the form again;
        # an in-page action ("Send verification code") shows its page straight away.
        return redirect(url_for("journeys.page", journey_id=journey_id), 303)
    return _respond(state, outcome)


def _throttled(state: JourneyState, step_id: str, form: dict[str, str]) -> int:
    """Seconds this address must wait before this submission, or 0 (security/throttle.py).
    Nothing is run or saved for a throttled submission, so nothing is lost either."""
    policy = runtime().policies.get(state.policy_id)
    step = next((s for s in policy.steps if s.id == step_id), None) if policy else None
    if step is None:
        return 0
    throttle = current_app.extensions["idp.throttle"]
    chose = (state.context or {}).get(keys.CHOICE)
    waits = [
        throttle.hit(bucket, request.remote_addr)
        for bucket in journey_buckets(step.type, form.get("action", ""), chose)
    ]
    return max(waits, default=0)


def too_many_requests(seconds: int, again: str | None) -> Response:
    """A page that says how long to wait (429, with Retry-After)."""
    minutes = -(-seconds // 60) if seconds > 90 else 0
    html = render_template("too_many_requests.html", seconds=seconds, minutes=minutes,
                           again=again)
    return Response(html, 429, {"Retry-After": str(seconds), "Cache-Control": "no-store"})


def _save(state: JourneyState, progress: JourneyProgress) -> None:
    # Steps may have committed (a new account) and expired the loaded row; write ours last.
    # What follows reads only this row's own values and what was just written.
    state.step_index = progress.step_index
    state.context = {k: v for k, v in progress.context.items() if v is not None}
    commit_keeping_loaded()


@bp.route("/activate/<token>", methods=["GET", "POST"])
def activation(token: str) -> Response:
    """An activation link from an email. Opening it shows a button (so mail scanners that
    fetch links activate nothing); in the browser that signed up, pressing it creates the
    account and carries the journey on; anywhere else it also asks for the password
    chosen at sign-up, so only the person who signed up can finish it."""
    rt = runtime()
    row = find_pending_signup(token)
    if row is None:
        return Response(render_template("activate.html", outcome="unknown"), 404)
    journey = _find(row.journey_id) if row.journey_id else None
    here = journey is not None and _live(journey) and owns_journey(journey.journey_id)
    if request.method == "GET":
        outcome = "activated" if row.user_id else "confirm"
        if row.user_id is None and (row.used_at is not None or row.expires_at <= rt.clock.now()):
            outcome = "expired"
        status = 410 if outcome == "expired" else 200
        return Response(
            render_template("activate.html", outcome=outcome, ask_password=not here, errors={}),
            status,
        )
    password = None if here else request.form.get("password", "")
    if password == "":
        errors = {"password": "Enter the password you chose when you signed up"}
        html = render_template("activate.html", outcome="confirm", ask_password=True, errors=errors)
        return Response(html, 200)
    outcome = follow_activation_link(row, password, rt.hasher, rt.clock.now())
    if outcome == "wrong_password":
        errors = {"password": "That is not the password you chose when you signed up"}
        html = render_template("activate.html", outcome="confirm", ask_password=True, errors=errors)
        return Response(html, 200)
    if outcome == "activated" and here and journey is not None:
        return redirect(url_for("journeys.page", journey_id=journey.journey_id), 303)
    status = {"activated": 200, "exists": 200}.get(outcome, 410)
    return Response(render_template("activate.html", outcome=outcome, errors={}), status)


@bp.get("/federation/<name>/callback")
def federation_callback(name: str) -> Response:
    """The provider sends the person back here: what it says goes into the journey that
    sent them, which carries on (or says what went wrong, with a way back)."""
    journey_id = session.get(_FEDERATING)
    state = _find(journey_id, lock=True) if journey_id else None
    if state is None or not owns_journey(state.journey_id) or not _live(state):
        return Response(render_template("journey_expired.html"), 410)
    context = dict(state.context)
    if context.get(keys.FEDERATION_PROVIDER) != name:
        abort(404)
    federation = current_app.extensions["idp.federation"]
    try:
        upstream = federation.finish(name)
    except FederationFailure as failure:
        log.warning("federation with %s failed (%s): %s", name, failure.reason, failure.detail)
        audit.record("federation.failed", details={"provider": name, "reason": failure.reason})
        context[keys.FEDERATION_ERROR] = {"reason": failure.reason, "message": failure.message}
    else:
        context[keys.FEDERATION_RESULT] = {
            k: v for k, v in asdict(upstream).items() if k != "tokens" and v is not None
        }
    state.context = context
    session.pop(_FEDERATING, None)
    db.session.commit()
    return redirect(url_for("journeys.page", journey_id=state.journey_id), 303)
