"""The portals' pages. Each portal is one blueprint under ``/{portal.key}/``: home, My
Account, the sign-in callback, sign-out, and for the Blue Badge portal its payments.

Every Gatehouse policy is started the same way (``start_policy``) and comes back to the
portal's one redirect URI; the ``state`` it returns names the authlib registration, so the
policy, that began it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from examples.portal.portals import (
    PASSWORD_RESET,
    PAYMENTS,
    PHONE_CHANGE,
    PORTALS,
    PROFILE_EDIT,
    Portal,
    payment,
)
from examples.portal.signins import SignIn, SignInStore

# What the portal says when a policy brings the person back.
DONE = {
    PROFILE_EDIT: "Your profile has been updated.",
    PHONE_CHANGE: "Your phone number has been changed.",
    PASSWORD_RESET: "Your password has been reset.",
}

# The claims table's order: who, how they signed in, then the token's own bookkeeping.
CLAIM_ORDER = (
    "name",
    "given_name",
    "family_name",
    "email",
    "emails",
    "phone_number",
    "sub",
    "oid",
    "tfp",
    "acr",
    "amr",
    "idp",
    "newUser",
    "auth_time",
    "iss",
    "aud",
    "iat",
    "exp",
    "ver",
)
TIMES = ("auth_time", "iat", "nbf", "exp")


def index_blueprint() -> Blueprint:
    bp = Blueprint("index", __name__)

    @bp.get("/")
    def index() -> str:
        return render_template("index.html", portal=None, portals=PORTALS)

    return bp


def portal_blueprint(portal: Portal) -> Blueprint:
    bp = Blueprint(portal.key, __name__, url_prefix=f"/{portal.key}")

    def signed_in_only(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_sign_in(portal) is None:
                flash("Sign in to see that page.")
                return redirect(url_for(".home"))
            return view(*args, **kwargs)

        return wrapper

    @bp.get("/")
    def home() -> Any:
        if request.args.get("state"):
            return back_from_sign_out(portal)
        sign_in = current_sign_in(portal)
        paid = session.get(paid_key(portal), [])
        due = [p for p in PAYMENTS if p.reference not in paid] if portal.takes_payments else []
        return render_template(
            "home.html",
            portal=portal,
            sign_in=sign_in,
            claims=claim_rows(sign_in.claims) if sign_in else [],
            payments_due=due if sign_in else [],
        )

    @bp.post("/sign-in")
    def sign_in() -> Response | tuple[str, int]:
        return start_policy(portal, portal.sign_in_policy)

    @bp.post("/password-reset")
    def password_reset() -> Response | tuple[str, int]:
        return start_policy(portal, PASSWORD_RESET)

    @bp.get("/account")
    @signed_in_only
    def account() -> str:
        return render_template("account.html", portal=portal, sign_in=current_sign_in(portal))

    @bp.post("/account/profile")
    @signed_in_only
    def edit_profile() -> Response | tuple[str, int]:
        return start_policy(portal, PROFILE_EDIT)

    @bp.post("/account/phone")
    @signed_in_only
    def change_phone() -> Response | tuple[str, int]:
        return start_policy(portal, PHONE_CHANGE)

    @bp.get("/auth/callback")
    def callback() -> Response | tuple[str, int]:
        return finish_policy(portal)

    @bp.post("/sign-out")
    def sign_out() -> Response | tuple[str, int]:
        return start_sign_out(portal)

    if portal.takes_payments:

        @bp.get("/payments/<reference>")
        @signed_in_only
        def show_payment(reference: str) -> str:
            due = payment(reference) or abort(404)
            return render_template(
                "payment.html",
                portal=portal,
                sign_in=current_sign_in(portal),
                payment=due,
                paid=reference in session.get(paid_key(portal), []),
            )

        @bp.post("/payments/<reference>")
        @signed_in_only
        def pay(reference: str) -> Response:
            # A demo: nothing is charged, the portal only remembers it was "paid".
            payment(reference) or abort(404)
            paid = session.get(paid_key(portal), [])
            session[paid_key(portal)] = list(dict.fromkeys([*paid, reference]))
            return redirect(url_for(".payment_received", reference=reference))

        @bp.get("/payments/<reference>/received")
        @signed_in_only
        def payment_received(reference: str) -> str:
            done = payment(reference) or abort(404)
            return render_template(
                "payment_received.html",
                portal=portal,
                sign_in=current_sign_in(portal),
                payment=done,
            )

    return bp


# -- sign-ins ---------------------------------------------------------------------------
def store() -> SignInStore:
    sign_ins: SignInStore = current_app.extensions["portal.sign_ins"]
    return sign_ins


def sign_in_key(portal: Portal) -> str:
    return f"{portal.key}.sign_in"


def paid_key(portal: Portal) -> str:
    return f"{portal.key}.paid"


def current_sign_in(portal: Portal) -> SignIn | None:
    return store().get(session.get(sign_in_key(portal)))


def portal_url(path: str) -> str:
    return f"{current_app.config['PORTAL_BASE_URL']}{path}"


def registration(portal: Portal, policy: str) -> Any:
    return current_app.extensions["portal.oauth"].create_client(portal.registration_name(policy))


def pending(portal: Portal, state: str) -> tuple[Any, dict[str, Any]] | tuple[None, None]:
    """The registration that saved ``state`` in this browser's session, and what it saved."""
    if state:
        for policy in portal.policies:
            client = registration(portal, policy)
            data = client.framework.get_state_data(session, state)
            if data:
                return client, data
    return None, None


def policy_of(portal: Portal, client: Any) -> str:
    return next(p for p in portal.policies if portal.registration_name(p) == client.name)


# -- starting and finishing a policy -------------------------------------------------------
def start_policy(portal: Portal, policy: str) -> Response | tuple[str, int]:
    """Send the browser to the policy's authorize endpoint (from its discovery document),
    with state, nonce and a PKCE S256 challenge that authlib makes and keeps in the session."""
    try:
        response: Response = registration(portal, policy).authorize_redirect(
            portal_url(portal.redirect_path())
        )
    except requests.RequestException:
        return gatehouse_unreachable(portal)
    return response


def finish_policy(portal: Portal) -> Response | tuple[str, int]:
    state = request.args.get("state", "")
    client, data = pending(portal, state)
    if request.args.get("error"):
        if client is not None:
            client.framework.clear_state_data(session, state)
        return problem(
            portal,
            heading="You have not been signed in",
            detail=request.args.get("error_description")
            or "Gatehouse did not finish signing you in.",
            code=request.args["error"],
        )
    # The nonce check below depends on this: authlib checks a nonce only when it kept one.
    if client is None or data is None or "nonce" not in data:
        return problem(
            portal,
            heading="This sign-in was not started here",
            detail="The answer from Gatehouse does not match a sign-in this browser began, "
            "or it took too long. Start again from the portal.",
            code="invalid_state",
        )
    try:
        metadata = client.load_server_metadata()
        # RFC 9207 §2.4: every policy answers at the same redirect URI, so the response
        # must come from the issuer the request went to.
        sent_iss = request.args.get("iss")
        if sent_iss != metadata["issuer"] and (
            sent_iss or metadata.get("authorization_response_iss_parameter_supported")
        ):
            client.framework.clear_state_data(session, state)
            return problem(
                portal,
                heading="This sign-in came from the wrong place",
                detail="The answer names a different issuer from the one this portal asked.",
                code="invalid_issuer",
            )
        # Checks state, redeems the code with the PKCE verifier, then validates the ID
        # token: signature, iss, aud, exp, nonce and at_hash.
        token = client.authorize_access_token()
    except OAuthError as error:
        return problem(
            portal,
            heading="You have not been signed in",
            detail=error.description or "Gatehouse refused this sign-in.",
            code=error.error,
        )
    except requests.RequestException:
        return gatehouse_unreachable(portal)
    policy = policy_of(portal, client)
    store().forget(session.get(sign_in_key(portal)))
    session[sign_in_key(portal)] = store().keep(
        SignIn(policy=policy, claims=dict(token["userinfo"]), id_token=token["id_token"])
    )
    if policy in DONE:
        flash(DONE[policy])
    return redirect(url_for(".home"))


def start_sign_out(portal: Portal) -> Response | tuple[str, int]:
    """RP-Initiated Logout: forget the sign-in here, then send the browser to the end-session
    endpoint of the policy that issued the ID token, which comes back to the portal's home."""
    key = session.pop(sign_in_key(portal), None)
    sign_in = store().get(key)
    store().forget(key)
    session.pop(paid_key(portal), None)
    if sign_in is None:
        return redirect(url_for(".home"))
    try:
        response: Response = registration(portal, sign_in.policy).logout_redirect(
            post_logout_redirect_uri=portal_url(portal.post_logout_path()),
            id_token_hint=sign_in.id_token,
        )
    except requests.RequestException:
        flash(
            "You have signed out of this portal, but Gatehouse did not answer, so you may "
            "still be signed in there."
        )
        return redirect(url_for(".home"))
    return response


def back_from_sign_out(portal: Portal) -> Response:
    client, data = pending(portal, request.args.get("state", ""))
    if client is not None and data is not None and "post_logout_redirect_uri" in data:
        client.validate_logout_response()
        flash("You have signed out.")
    return redirect(url_for(".home"))


# -- pages -------------------------------------------------------------------------------
def problem(
    portal: Portal | None, heading: str, detail: str, code: str | None = None, status: int = 400
) -> tuple[str, int]:
    retry = url_for(f"{portal.key}.home") if portal else url_for("index.index")
    page = render_template(
        "problem.html",
        portal=portal,
        sign_in=None,
        heading=heading,
        detail=detail,
        code=code,
        retry_url=retry,
    )
    return page, status


def gatehouse_unreachable(portal: Portal) -> tuple[str, int]:
    authority = current_app.config["GATEHOUSE_AUTHORITY"]
    return problem(
        portal,
        heading="Gatehouse is not answering",
        detail=f"The portal could not reach Gatehouse at {authority}. Is it running? "
        "(make run starts it.)",
        status=502,
    )


def claim_rows(claims: dict[str, Any]) -> list[tuple[str, str]]:
    names = [n for n in CLAIM_ORDER if n in claims]
    names += sorted(n for n in claims if n not in CLAIM_ORDER)
    return [(name, show_claim(name, claims[name])) for name in names]


def show_claim(name: str, value: Any) -> str:
    if name in TIMES and isinstance(value, int | float):
        when = datetime.fromtimestamp(value, UTC)
        return f"{value} ({when:%d %B %Y %H:%M:%S} UTC)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
