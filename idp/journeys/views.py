"""Journey pages over HTTP: translate requests into executor calls and pages into HTML."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from sqlalchemy import select

from idp.clock import timestamp
from idp.extensions import db
from idp.journeys.directory import SqlAccountDirectory
from idp.journeys.executor import Executor, JourneyProgress
from idp.journeys.results import Completed, Page
from idp.protocol.sessions import owns_journey
from idp.runtime import runtime
from idp.store.models import JourneyState

bp = Blueprint("journeys", __name__)


def _load(journey_id: str) -> JourneyState:
    state = db.session.scalar(select(JourneyState).where(JourneyState.journey_id == journey_id))
    if state is None or not owns_journey(journey_id):
        abort(404)
    if state.completed_at is not None or state.expires_at <= runtime().clock.now():
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
    return Executor(policy, SqlAccountDirectory(rt.hasher))


@bp.get("/journey/<journey_id>")
def page(journey_id: str) -> Response:
    state = _load(journey_id)
    progress = JourneyProgress(state.step_index, dict(state.context))
    outcome = _executor(state).show(progress, timestamp(runtime().clock.now()))
    state.step_index = progress.step_index
    return _respond(state, outcome)


@bp.post("/journey/<journey_id>")
def submit(journey_id: str) -> Response:
    state = _load(journey_id)
    progress = JourneyProgress(state.step_index, dict(state.context))
    form = {key: request.form.get(key, "") for key in request.form}
    step_id = form.pop("step", "")
    form.pop("csrf_token", None)
    outcome = _executor(state).submit(progress, step_id, form, timestamp(runtime().clock.now()))
    state.step_index = progress.step_index
    state.context = progress.context
    db.session.commit()
    return _respond(state, outcome)
