"""``/password/<token>``: the emailed link that gives a moved account its first password.

Opening the link shows a form (so a mail scanner that fetches links changes nothing).
A good password is stored, every other link of the account stops working, and, in the
browser whose sign-in sent the link, the journey carries on at its sign-in page with the
address filled in and a note that the new password is set. Anywhere else the page says
to go back to the service and sign in.
"""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for
from sqlalchemy import select

from idp.extensions import db
from idp.journeys import context as keys
from idp.journeys.steps.forms import new_password_errors
from idp.migrate.passwords import find_link, use_link
from idp.protocol.sessions import owns_journey
from idp.runtime import runtime
from idp.security.password_rules import PasswordRules
from idp.store.models import JourneyState, User

bp = Blueprint("password_links", __name__)

_STATUS = {"ok": 200, "used": 410, "expired": 410, "unknown": 404}


def _render(outcome: str, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    rules = PasswordRules()
    html = render_template(
        "password_link.html", outcome=outcome, errors=errors or {},
        rules={"min": rules.min_length, "max": rules.max_length,
               "classes": rules.min_character_classes},
    )
    return Response(html, status, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@bp.route("/password/<token>", methods=["GET", "POST"])
def set_password(token: str) -> Response:
    rt = runtime()
    now = rt.clock.now()
    row, outcome = find_link(token, now)
    if outcome != "ok" or row is None:
        return _render(outcome, status=_STATUS[outcome])
    if request.method == "GET":
        return _render("form")
    password = request.form.get("password", "")
    confirm = request.form.get("password-confirm", "")
    user = db.session.get(User, row.user_id)
    assert user is not None
    personal = [w for w in (user.given_name, user.family_name, user.email) if w]
    errors = new_password_errors(password, confirm, PasswordRules(), personal)
    if errors:
        return _render("form", errors, 200)
    journey_id = row.journey_id
    if use_link(row, rt.hasher.hash(password), now) is None:
        return _render("used", status=410)
    journey = (
        db.session.scalar(select(JourneyState).where(JourneyState.journey_id == journey_id))
        if journey_id else None
    )
    if (
        journey is not None
        and journey.completed_at is None
        and journey.expires_at > now
        and owns_journey(journey.journey_id)
    ):
        forms = dict((journey.context or {}).get(keys.FORM_STATE, {}))
        for step_id, state in list(forms.items()):
            if isinstance(state, dict) and state.get("link_sent"):
                forms[step_id] = {"password_set": True}
        journey.context = {**journey.context, keys.FORM_STATE: forms}
        db.session.commit()
        return redirect(url_for("journeys.page", journey_id=journey.journey_id), 303)
    return _render("done")
