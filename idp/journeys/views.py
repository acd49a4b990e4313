"""Journey pages over HTTP: translate requests into executor calls and pages into HTML."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from idp.clock import timestamp
from idp.extensions import db
from idp.journeys.executor import Executor, JourneyProgress
from idp.journeys.results import Completed, Page
from idp.journeys.services import SqlJourneyServices, activate
from idp.protocol.sessions import owns_journey
from idp.runtime import runtime
from idp.store.models import JourneyState

bp = Blueprint("journeys", __name__)


def _find(journey_id: str) -> JourneyState | None:
    return db.session.scalar(select(JourneyState).where(JourneyState.journey_id == journey_id))


def _live(state: JourneyState | None) -> bool:
    return (
        state is not None
        and state.completed_at is None
        and state.expires_at > runtime().clock.now()
    )


def _load(journey_id: str) -> JourneyState:
    state = _find(journey_id)
    if state is None or not owns_journey(journey_id):
        abort(404)
    if not _live(state):
        return abort(Response(render_template("journey_expired.html"), 410))
    return state


def _respond(state: JourneyState, outcome: Page | Completed) -> Response:
    if isinstance(outcome, Completed):
        state.completed_at = runtime().clock.now()
        finish = current_app.extensions["idp.finish"]
        response: Response = finish(state.authorization_request, outcome.authentication)
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
    outcome = _executor(state).submit(progress, step_id, form, timestamp(runtime().clock.now()))
    _save(state, progress)
    if isinstance(outcome, Page) and not outcome.errors and request.form.get("action") is None:
        # Post/redirect/get after a step moved on, so a refresh does not send the form again.
        return redirect(url_for("journeys.page", journey_id=journey_id), 303)
    return _respond(state, outcome)


def _save(state: JourneyState, progress: JourneyProgress) -> None:
    # Steps may have committed (a new account) and expired the loaded row; write ours last.
    state.step_index = progress.step_index
    state.context = {k: v for k, v in progress.context.items() if v is not None}
    db.session.commit()


@bp.get("/activate/<token>")
def activation(token: str) -> Response:
    """An activation link from an email. In the browser that started the sign-up, the
    journey carries on; anywhere else, the page says the account is ready."""
    outcome, link = activate(token, runtime().clock.now())
    journey = _find(link.journey_id) if link and link.journey_id else None
    live = journey is not None and _live(journey) and owns_journey(journey.journey_id)
    if outcome == "activated" and journey is not None and live:
        return redirect(url_for("journeys.page", journey_id=journey.journey_id), 303)
    portal = None
    if journey is not None:
        portal = journey.authorization_request.get("uri")
    status = 200 if outcome == "activated" else 410 if outcome == "expired" else 404
    return Response(render_template("activated.html", outcome=outcome, portal=portal), status)
