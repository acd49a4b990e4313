"""The admin pages at /admin: find a person, look after their account, register and
change clients, rotate signing keys and read the audit log.

The pages are a thin layer over ``operations``: each view turns a form into one call,
and its answer into a page. Every change is a POST with the CSRF token that answers with
a redirect and a notification banner (post/redirect/get); an ``AdminError`` comes back as
GOV.UK's error summary with the message beside the field it names, or as a banner when
the form has no such field. Staff pages are English only, so nothing here is marked for
translation.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Flask,
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError

# What views answer: redirect() makes werkzeug's; pages are Flask's (text/html).
from werkzeug.wrappers import Response as Answer

from idp.admin import operations, signin
from idp.admin.operations import AdminError
from idp.admin.roles import Actor
from idp.runtime import runtime

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")

#: The last search, so a page reached from the results leads back to them. Kept in the
#: session rather than the URL: an email or phone number in a URL ends up in access logs.
SEARCH_KEY = "admin_search"
#: Forms whose second sending would do harm (a second rotation ends the overlap the first
#: one gave the old secret; a second registration makes a twin client).
ONCE_KEY = "admin_once"

F = TypeVar("F", bound=Callable[..., Any])


# -- every page ---------------------------------------------------------------------------


def _came_for() -> str:
    """Where to come back to after signing in: this page, or the start for a form."""
    if request.method != "GET":
        return "/admin/"
    query = request.query_string.decode("utf-8", "replace")
    return request.path + (f"?{query}" if query else "")


@bp.before_request
def require_admin() -> Answer | None:
    actor = signin.current_admin()
    if actor is None:
        return redirect(url_for("admin_signin.signin", next=_came_for()), 303)
    g.actor = actor
    return None


def _no_store(response: Answer) -> Answer:
    # People's details and one-time secrets: never from a cache, never on Back.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _actor() -> Actor:
    actor: Actor = g.actor
    return actor


def needs(area: str) -> Callable[[F], F]:
    """A page for roles that may work with ``area``; anyone else gets a 403 page."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not _actor().may(area):
                return problem(
                    403, "You cannot use this page",
                    f"The {_actor().role} role does not include {AREA_WORDS[area]}. Ask an "
                    "admin if you need this.",
                )
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


AREA_WORDS = {
    "users": "people's accounts",
    "clients": "client registrations",
    "keys": "signing keys",
    "audit": "the audit log",
}


def page(template: str, status: int = 200, **context: Any) -> Answer:
    context.setdefault("errors", {})
    context.setdefault("problem_banner", None)
    return Response(render_template(template, **context), status)


def problem(status: int, heading: str, message: str) -> Answer:
    return page("admin/problem.html", status, title=heading, message=message)


def error_page(error: AdminError) -> Answer:
    """A refusal that belongs to no form: not found, not allowed."""
    headings = {403: "You cannot do that", 404: "Page not found"}
    return problem(error.status, headings.get(error.status, "There is a problem"), error.message)


def form_errors(
    error: AdminError, labels: dict[str, str]
) -> tuple[dict[str, str], str | None]:
    """({field: message}, None) for a field on this form; otherwise ({}, banner text).

    Messages from operations name fields as the API does ("redirect_uris ..."); a page
    names them as its labels do, and (as GOV.UK's do) without a closing full stop."""
    if error.field in labels:
        words = _in_page_words(error.message, error.field, labels)
        return {error.field: words[:-1] if words.endswith(".") else words}, None
    return {}, error.message


_REQUIRED = {
    "name": "Enter a name for the client",
    "redirect_uris": "Enter at least one redirect URI",
    "q": "Enter an email address, phone number, name or object id",
}


def _in_page_words(message: str, field: str, labels: dict[str, str]) -> str:
    if message.lower().startswith(f"{field} is required") and field in _REQUIRED:
        return _REQUIRED[field]
    if message.lower().startswith(field.lower() + " "):
        return labels[field] + message[len(field):]
    return message


def _issue_once() -> str:
    token = secrets.token_urlsafe(16)
    session[ONCE_KEY] = [*session.get(ONCE_KEY, [])[-9:], token]
    return token


def _use_once() -> bool:
    token = request.form.get("once", "")
    issued = list(session.get(ONCE_KEY, []))
    if token not in issued:
        return False
    issued.remove(token)
    session[ONCE_KEY] = issued
    return True


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


# -- people -------------------------------------------------------------------------------


@bp.get("/")
@needs("users")
def find() -> Answer:
    """Find a person: the last search's results, if there was one."""
    term = session.get(SEARCH_KEY)
    results = None
    if term:
        try:
            results = operations.find_people(_actor(), term)
        except AdminError as error:
            return error_page(error)
    return page("admin/find.html", title="Find a person", term=term or "", results=results)


@bp.post("/")
@needs("users")
def search() -> Answer:
    term = request.form.get("q", "")
    try:
        operations.find_people(_actor(), term)
    except AdminError as error:
        errors, banner = form_errors(error, {"q": "Search"})
        return page("admin/find.html", error.status, title="Find a person", term=term,
                    results=None, errors=errors, problem_banner=banner)
    session[SEARCH_KEY] = term.strip()
    return redirect(url_for(".find"), 303)


@bp.post("/pending-signups/resend")
@needs("users")
def resend_activation() -> Answer:
    email = request.form.get("email", "")
    try:
        sent = operations.resend_activation(_actor(), email)
    except AdminError as error:
        term = session.get(SEARCH_KEY)
        results = operations.find_people(_actor(), term) if term else None
        return page("admin/find.html", error.status, title="Find a person", term=term or "",
                    results=results, problem_banner=error.message)
    flash(f"A new activation email has been sent to {sent['email']}. The link in any "
          "earlier email no longer works.")
    return redirect(url_for(".find"), 303)


def _person_page(object_id: str, status: int = 200, banner: str | None = None) -> Answer:
    try:
        person = operations.person_detail(_actor(), object_id)
    except AdminError as error:
        return error_page(error)
    return page("admin/person.html", status, title=person["name"] or person["email"] or
                "Person", person=person, problem_banner=banner)


@bp.get("/people/<object_id>")
@needs("users")
def person(object_id: str) -> Answer:
    return _person_page(object_id)


#: The buttons on a person's page: the operation and what the banner says it did.
PERSON_ACTIONS: dict[str, tuple[Callable[[Actor, str], Any], str]] = {
    "disable": (operations.disable_person,
                "The account is disabled. {who} cannot sign in, and every session and token "
                "they had has ended."),
    "enable": (operations.enable_person, "The account is enabled. {who} can sign in again."),
    "reset-mfa": (operations.reset_mfa,
                  "Second factors are reset. {who} will set one up again the next time they "
                  "sign in."),
    "unlock": (operations.unlock_person, "The account is unlocked. {who} can try again now."),
}


@bp.post("/people/<object_id>/<action>")
@needs("users")
def person_action(object_id: str, action: str) -> Answer:
    if action not in PERSON_ACTIONS:
        return problem(404, "Page not found", "There is no such action.")
    run, done = PERSON_ACTIONS[action]
    try:
        result = run(_actor(), object_id)
    except AdminError as error:
        if error.status == 404:
            return error_page(error)
        return _person_page(object_id, error.status, banner=error.message)
    flash(done.format(who=result.get("name") or result.get("email") or "The person"))
    return redirect(url_for(".person", object_id=object_id), 303)


@bp.route("/people/<object_id>/delete", methods=["GET", "POST"])
@needs("users")
def delete_person(object_id: str) -> Answer:
    try:
        person = operations.person_detail(_actor(), object_id)
    except AdminError as error:
        return error_page(error)
    if request.method == "POST":
        try:
            deleted = operations.delete_person(_actor(), object_id)
        except AdminError as error:
            return _person_page(object_id, error.status, banner=error.message)
        flash(f"The account for {deleted['name'] or deleted['email'] or object_id} has "
              "been deleted. The audit log keeps the record of it.")
        return redirect(url_for(".find"), 303)
    return page("admin/confirm_delete_person.html", title="Delete this account?", person=person)


# -- clients ------------------------------------------------------------------------------

CLIENT_LABELS = {
    "name": "Name",
    "type": "Client type",
    "redirect_uris": "Redirect URIs",
    "post_logout_redirect_uris": "Post-logout redirect URIs",
    "policies": "Policies",
    "token_endpoint_auth_method": "Token endpoint authentication method",
}
AUTH_METHODS = {
    "client_secret_basic": "Secret in the Authorization header (client_secret_basic)",
    "client_secret_post": "Secret in the request body (client_secret_post), as MSAL sends it",
}


def policy_choices(chosen: list[str]) -> list[dict[str, Any]]:
    """Policies a portal may be registered for: all but the admin sign-in's own, unless
    the client has it already."""
    admin_policy = str(runtime().settings["admin.policy"]).lower()
    wanted = {p.lower() for p in chosen}
    return [
        {"id": p.id, "display_name": p.display_name, "checked": p.id.lower() in wanted}
        for p in runtime().policies
        if p.id.lower() != admin_policy or p.id.lower() in wanted
    ]


def editable(client: dict[str, Any]) -> bool:
    return client["source"] not in ("file", "internal")


@bp.get("/clients")
@needs("clients")
def clients() -> Answer:
    return page("admin/clients.html", title="Clients",
                clients=operations.list_registered_clients(_actor()))


def _client_form(status: int = 200, values: dict[str, Any] | None = None,
                 errors: dict[str, str] | None = None, banner: str | None = None) -> Answer:
    values = values or {"type": "", "token_endpoint_auth_method": "client_secret_post"}
    return page(
        "admin/client_new.html", status, title="Register a client", values=values,
        policies=policy_choices(values.get("policies", [])), auth_methods=AUTH_METHODS,
        labels=CLIENT_LABELS, errors=errors or {}, problem_banner=banner, once=_issue_once(),
    )


@bp.get("/clients/new")
@needs("clients")
def new_client() -> Answer:
    return _client_form()


@bp.post("/clients/new")
@needs("clients")
def register_client() -> Answer:
    form = request.form
    values: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "type": form.get("type", ""),
        "redirect_uris": _lines(form.get("redirect_uris", "")),
        "post_logout_redirect_uris": _lines(form.get("post_logout_redirect_uris", "")),
        "policies": form.getlist("policies"),
        "token_endpoint_auth_method": form.get("token_endpoint_auth_method",
                                               "client_secret_post"),
    }
    if values["type"] not in ("public", "confidential"):
        return _client_form(400, values, {"type": "Select whether the client is public or "
                                                  "confidential"})
    if not _use_once():
        flash("That form had been sent already, so nothing more was registered. Check the "
              "list before trying again.")
        return redirect(url_for(".clients"), 303)
    data = dict(values)
    if data["type"] == "public":
        data["token_endpoint_auth_method"] = "none"
    try:
        registered = operations.register_client(_actor(), data)
    except AdminError as error:
        errors, banner = form_errors(error, CLIENT_LABELS)
        return _client_form(error.status, values, errors, banner)
    if registered["client_secret"] is None:
        flash(f"{registered['name']} is registered. Its client ID is {registered['client_id']}.")
        return redirect(url_for(".client", client_id=registered["client_id"]), 303)
    # The secret is shown in this answer and nowhere else: never put in a cookie or a
    # URL, so this one page breaks post/redirect/get (ONCE_KEY stops a second sending).
    return page("admin/client_secret.html", 201, title="Client registered",
                client=registered, secret=registered["client_secret"], rotated=False)


def _client_page(client_id: str, status: int = 200, values: dict[str, Any] | None = None,
                 errors: dict[str, str] | None = None, banner: str | None = None) -> Answer:
    try:
        client = operations.show_client(_actor(), client_id)
    except AdminError as error:
        return error_page(error)
    values = values or {
        "name": client["name"],
        "redirect_uris": client["redirect_uris"],
        "post_logout_redirect_uris": client["post_logout_redirect_uris"],
        "policies": client["policies"],
    }
    overlap = int(runtime().settings["admin.secret_overlap"])
    return page(
        "admin/client.html", status, title=client["name"], client=client, values=values,
        editable=editable(client), policies=policy_choices(values["policies"]),
        labels=CLIENT_LABELS, errors=errors or {}, problem_banner=banner,
        overlaps=_overlap_choices(overlap), once=_issue_once(),
    )


def _overlap_choices(default: int) -> list[tuple[int, str]]:
    choices = {default: _duration(default) + " (the usual)", 3600: "1 hour",
               7 * 86400: "7 days", 0: "No time: the old secret stops working now"}
    return list(choices.items())


def _duration(seconds: int) -> str:
    if seconds and seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds and seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{seconds} seconds"


@bp.get("/clients/<client_id>")
@needs("clients")
def client(client_id: str) -> Answer:
    return _client_page(client_id)


@bp.post("/clients/<client_id>")
@needs("clients")
def update_client(client_id: str) -> Answer:
    form = request.form
    values = {
        "name": form.get("name", "").strip(),
        "redirect_uris": _lines(form.get("redirect_uris", "")),
        "post_logout_redirect_uris": _lines(form.get("post_logout_redirect_uris", "")),
        "policies": form.getlist("policies"),
    }
    try:
        operations.update_client(_actor(), client_id, values)
    except AdminError as error:
        if error.status == 404:
            return error_page(error)
        errors, banner = form_errors(error, CLIENT_LABELS)
        return _client_page(client_id, error.status, values, errors, banner)
    flash("Your changes are saved.")
    return redirect(url_for(".client", client_id=client_id), 303)


@bp.post("/clients/<client_id>/rotate-secret")
@needs("clients")
def rotate_secret(client_id: str) -> Answer:
    if not _use_once():
        flash("That form had been sent already, so the secret was not changed again.")
        return redirect(url_for(".client", client_id=client_id), 303)
    try:
        overlap = int(request.form.get("overlap_seconds", ""))
    except ValueError:
        overlap = None  # the deployment's admin.secret_overlap
    try:
        rotated = operations.rotate_client_secret(_actor(), client_id, overlap)
    except AdminError as error:
        if error.status == 404:
            return error_page(error)
        return _client_page(client_id, error.status, banner=error.message)
    return page("admin/client_secret.html", title="New client secret", client=rotated,
                secret=rotated["client_secret"], rotated=True)


@bp.post("/clients/<client_id>/<action>")
@needs("clients")
def client_action(client_id: str, action: str) -> Answer:
    if action not in ("enable", "disable"):
        return problem(404, "Page not found", "There is no such action.")
    try:
        changed = operations.set_client_enabled(_actor(), client_id, action == "enable")
    except AdminError as error:
        if error.status == 404:
            return error_page(error)
        return _client_page(client_id, error.status, banner=error.message)
    if changed["enabled"]:
        flash(f"{changed['name']} is enabled: it can sign people in again. Tokens revoked "
              "when it was disabled stay revoked.")
    else:
        flash(f"{changed['name']} is disabled: it cannot sign anyone in, and its tokens "
              "have been revoked.")
    return redirect(url_for(".client", client_id=client_id), 303)


@bp.route("/clients/<client_id>/delete", methods=["GET", "POST"])
@needs("clients")
def delete_client(client_id: str) -> Answer:
    try:
        client = operations.show_client(_actor(), client_id)
    except AdminError as error:
        return error_page(error)
    if request.method == "POST":
        try:
            operations.delete_client(_actor(), client_id)
        except AdminError as error:
            return _client_page(client_id, error.status, banner=error.message)
        flash(f"{client['name']} ({client_id}) has been deleted and its tokens revoked.")
        return redirect(url_for(".clients"), 303)
    return page("admin/confirm_delete_client.html", title="Delete this client?", client=client)


# -- signing keys -------------------------------------------------------------------------


@bp.get("/keys")
@needs("keys")
def keys() -> Answer:
    return page("admin/keys.html", title="Signing keys", keys=operations.list_keys(_actor()),
                publish_ahead=_duration(int(runtime().settings["keys.publish_ahead_seconds"])))


@bp.post("/keys/rotate")
@needs("keys")
def rotate_keys() -> Answer:
    try:
        key = operations.rotate_keys(_actor())
    except AdminError as error:
        return page("admin/keys.html", error.status, title="Signing keys",
                    keys=operations.list_keys(_actor()), problem_banner=error.message,
                    publish_ahead="")
    flash(f"A new signing key, {key['kid']}, is published now and signs tokens from "
          f"{readable_time(key['signs_from'])}.")
    return redirect(url_for(".keys"), 303)


# -- the audit log ------------------------------------------------------------------------

AUDIT_LABELS = {
    "user": "Person",
    "client_id": "Client ID",
    "event_type": "Event type",
    "since": "From date",
    "until": "To date",
}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(values: dict[str, str], name: str, errors: dict[str, str]) -> date | None:
    text = values.get(name, "").strip()
    if not text:
        return None
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = (f"{AUDIT_LABELS[name]} must be a real date written as YYYY-MM-DD, "
                        "like 2026-11-23")
        return None


def audit_filters(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """read_audit's arguments from the filter form, and the form's errors."""
    errors: dict[str, str] = {}
    since = _date(values, "since", errors)
    until = _date(values, "until", errors)
    if since and until and until < since:
        errors["until"] = "To date must be the same as or after the from date"
    event_type = values.get("event_type", "").strip()
    if len(event_type) > 60:
        errors["event_type"] = "Event type must be 60 characters or fewer"
    before = values.get("before", "").strip()
    arguments: dict[str, Any] = {
        "user": values.get("user", "").strip() or None,
        "client_id": values.get("client_id", "").strip() or None,
        "event_type": event_type or None,
        # Whole days in UTC, the "to" day included.
        "since": datetime.combine(since, datetime.min.time(), UTC) if since else None,
        "until": (datetime.combine(until, datetime.min.time(), UTC) + timedelta(days=1)
                  if until else None),
        "before": int(before) if before.isdigit() else None,
    }
    return arguments, errors


def _person_reference(text: str) -> str | None:
    """An object id for the Person filter, so an email never sits in the page's URL."""
    from idp.store.users import find_users, user_by_reference

    person = user_by_reference(text)
    if person is None and "@" in text:
        same = [u for u in find_users(text) if (u.email or "").lower() == text.lower()]
        person = same[0] if len(same) == 1 else None
    if person is not None:
        return person.object_id
    # Not (or no longer) an account: a deleted person's events are still found by the
    # object id they had.
    return None if "@" in text else text


@bp.route("/audit", methods=["GET", "POST"])
@needs("audit")
def audit() -> Answer:
    fields = ("user", "client_id", "event_type", "since", "until")
    source = request.form if request.method == "POST" else request.args
    values = {name: source.get(name, "") for name in (*fields, "before")}
    arguments, errors = audit_filters(values)
    if request.method == "POST" and not errors:
        if arguments["user"]:
            reference = _person_reference(arguments["user"])
            if reference is None:
                errors["user"] = ("No account has this email address. Enter the person's "
                                  "object id to see the events of a deleted account")
            else:
                values["user"] = reference
        if not errors:
            query = {k: values[k].strip() for k in fields if values[k].strip()}
            return redirect(url_for(".audit") + (f"?{urlencode(query)}" if query else ""), 303)
    found: dict[str, Any] = {"events": [], "next_before": None}
    banner = None
    status = 400 if errors else 200
    if not errors:
        try:
            found = operations.read_audit(_actor(), **arguments)
        except AdminError as error:
            more, banner = form_errors(error, AUDIT_LABELS)
            errors.update(more)
            status = error.status
    older = None
    if found["next_before"] is not None:
        query = {k: values[k].strip() for k in fields if values[k].strip()}
        older = url_for(".audit") + "?" + urlencode({**query, "before": found["next_before"]})
    return page("admin/audit.html", status, title="Audit log", values=values,
                events=found["events"], older=older, errors=errors, problem_banner=banner,
                labels=AUDIT_LABELS)


# -- wiring -------------------------------------------------------------------------------


def readable_time(value: str | datetime | None) -> str:
    """ISO 8601 as staff read it: 23 Nov 2026, 09:00:05 UTC."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%-d %b %Y, %H:%M:%S UTC")


def _csrf_failed(error: CSRFError) -> Answer:
    return signin.csrf_failed(error)


SOURCE_WORDS = {
    "file": "A file in clients/",
    "api": "The admin pages or API",
    "cli": "The idp command",
    "dynamic": "Dynamic registration",
    "internal": "Gatehouse itself",
}
STATE_WORDS = {
    "signing": "Signing now",
    "next": "Published, not signing yet",
    "retired": "Retired, still published",
    "withdrawn": "Withdrawn",
}


def _template_context() -> dict[str, Any]:
    found = signin.current_user_and_role() if g.get("actor") else None
    return {
        "admin": g.get("actor"),
        "admin_email": found[0].email if found else None,
        "nav": _nav(),
        "section": _section(),
        "source_words": SOURCE_WORDS,
        "state_words": STATE_WORDS,
    }


def _nav() -> list[tuple[str, str, str]]:
    """(words, address, endpoint prefix) for each part of the pages this role may use."""
    actor: Actor | None = g.get("actor")
    if actor is None:
        return []
    items = [("People", url_for("admin_pages.find"), "people", "users"),
             ("Clients", url_for("admin_pages.clients"), "clients", "clients"),
             ("Signing keys", url_for("admin_pages.keys"), "keys", "keys"),
             ("Audit log", url_for("admin_pages.audit"), "audit", "audit")]
    return [(words, href, part) for words, href, part, area in items if actor.may(area)]


def _section() -> str:
    path = request.path
    for part in ("clients", "keys", "audit"):
        if path.startswith(f"/admin/{part}"):
            return part
    return "people"


bp.after_request(_no_store)
# The CSRF check runs before any view; an admin page's failure gets an admin page.
bp.register_error_handler(CSRFError, _csrf_failed)
bp.context_processor(_template_context)


def init_app(app: Flask) -> None:
    app.add_template_filter(readable_time, "admin_time")
    app.register_blueprint(signin.bp)
    app.register_blueprint(bp)
