"""``Federation``: the upstream providers on authlib's Flask client, begun and finished.

The app builds it once; the journey's views call ``begin`` to send the person to the
provider and ``finish`` in the callback to learn who came back::

    federation = Federation.from_settings(app, settings)      # in create_app
    federation.providers()          # [("microsoft", "Microsoft"), ("google", "Google")]

    @bp.get("/federation/<name>/start")
    def start(name):
        return federation.begin(name, url_for(".callback", name=name, _external=True))

    @bp.get("/federation/<name>/callback")
    def callback(name):
        try:
            identity = federation.finish(name)
        except FederationFailure as failure:
            audit("federation_failed", reason=failure.reason, detail=failure.detail)
            return render_template("error.html", message=failure.message), 400
        ...                          # identity.key is (issuer, subject)

What a provider answers is sorted into one ``FederationFailure`` reason each; nothing
else escapes except programming errors.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, request, session
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from idp.federation.errors import FederationFailure, loggable
from idp.federation.facebook import fetch_me
from idp.federation.id_tokens import claims_options
from idp.federation.identity import (
    UpstreamIdentity,
    identity_from_graph,
    identity_from_id_token,
)
from idp.federation.providers import Provider, providers_from_settings

#: Discovery fields without which a provider cannot be used (OIDC Discovery §3).
REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
#: Authorization error codes that mean the provider is in trouble (RFC 6749 §4.1.2.1).
PROVIDER_TROUBLE = ("server_error", "temporarily_unavailable")


def _where(error: requests.RequestException) -> str:
    # Scheme, host and path only: a query string may hold a code or a proof.
    url = getattr(error.request, "url", None) or ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else "the provider"


def _error_code(error: object) -> str:
    # Facebook answers {"error": {"type": "OAuthException", "code": 100, "message": ...}}.
    if isinstance(error, dict):
        error = f"{error.get('type')} {error.get('code')}: {error.get('message')}"
    return loggable(error, 120)


@contextmanager
def provider_answers(provider: Provider, stage: str) -> Iterator[None]:
    """Turn what authlib, requests and joserfc raise into one ``FederationFailure``.

    ``stage`` is ``discovery`` (before leaving: any bad answer means the provider is
    unusable) or ``callback`` (after: a 4xx means our code or token was refused).
    """
    label = provider.label
    try:
        yield
    except FederationFailure:
        raise
    except MismatchingStateError:
        # authlib found no saved request for this state: forged, replayed, or begun in
        # another browser (RFC 6749 §10.12).
        raise FederationFailure.because(
            "state", label, "the answer's state matches no sign-in this browser began"
        ) from None
    except OAuthError as error:
        # The token endpoint's error answer (RFC 6749 §5.2), e.g. invalid_grant.
        raise FederationFailure.because(
            "token", label, f"the token endpoint answered {_error_code(error.error)}"
        ) from None
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else 0
        reason = "unavailable" if status >= 500 or stage == "discovery" else "token"
        raise FederationFailure.because(
            reason, label, f"HTTP {status} from {_where(error)}"
        ) from None
    except requests.RequestException as error:  # connection refused, timeout, reset
        raise FederationFailure.because(
            "unavailable", label, f"{type(error).__name__} talking to {_where(error)}"
        ) from None
    except JoseError as error:
        # Signature, iss, aud, exp, nonce, at_hash: OIDC Core §3.1.3.7.
        said = f"{error.error} ({error.description})" if error.description else error.error
        raise FederationFailure.because(
            "token", label, f"id_token refused: {loggable(said)}"
        ) from None
    except ValueError as error:  # a body that is not JSON, or not the JSON expected
        reason = "unavailable" if stage == "discovery" else "token"
        raise FederationFailure.because(
            reason, label, f"unreadable answer: {loggable(error)}"
        ) from None


class Federation:
    """The switched-on upstream providers, registered on an ``OAuth(app)`` registry.

    ``begin`` and ``finish`` must run inside requests of the app it was built with: the
    state, nonce and PKCE verifier wait in the Flask session between the two.
    """

    def __init__(self, app: Flask, providers: list[Provider], timeout: float) -> None:
        self.oauth = OAuth(app)
        self._providers = {provider.name: provider for provider in providers}
        for provider in providers:
            self.oauth.register(provider.name, **provider.registration(timeout))
        app.extensions["idp.federation"] = self

    @classmethod
    def from_settings(
        cls, app: Flask, settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
    ) -> Federation:
        """Register every provider whose ``federation.<name>.client_id`` is set.

        Raises ``idp.config.ConfigError`` naming the environment variable when a switched-on
        provider's secret is missing.
        """
        providers = providers_from_settings(settings, os.environ if environ is None else environ)
        return cls(app, providers, float(settings["federation.timeout"]))

    def providers(self) -> list[tuple[str, str]]:
        """(name, label) of each switched-on provider, in the sign-in page's order."""
        return [(p.name, p.label) for p in self._providers.values()]

    def label(self, name: str) -> str:
        """The provider's name as people know it ("Google"), switched on or not."""
        provider = self._providers.get(name)
        return provider.label if provider else name.capitalize()

    def begin(self, name: str, redirect_uri: str) -> Response:
        """Send the person to ``name``'s sign-in page; the answer comes to ``redirect_uri``.

        OIDC providers get ``scope=openid email profile``, a nonce and PKCE; Facebook gets
        ``scope=email public_profile``. Raises FederationFailure (``not_configured``, or
        ``unavailable`` when the discovery document cannot be had).
        """
        provider = self._enabled(name)
        client = self.oauth.create_client(name)
        params: dict[str, str] = {}
        with provider_answers(provider, "discovery"):
            if provider.kind == "oidc":
                self._usable_metadata(provider, client.load_server_metadata())
                # OIDC Core §3.1.2.1: binds the ID token to this browser's request.
                params["nonce"] = secrets.token_urlsafe(32)
            response: Response = client.authorize_redirect(redirect_uri, **params)
        return response

    def finish(self, name: str, keep_tokens: bool = False) -> UpstreamIdentity:
        """Inside the callback request: redeem the code and say who the person is.

        ``keep_tokens`` puts the provider's token response on the identity; otherwise it
        is dropped here. Raises FederationFailure.
        """
        provider = self._enabled(name)
        client = self.oauth.create_client(name)
        self._refuse_error_answer(provider, client)
        with provider_answers(provider, "callback"):
            if provider.kind == "oidc":
                issuer = self._usable_metadata(provider, client.load_server_metadata())
                options = claims_options(provider.client_id, issuer, provider.multi_tenant)
                token = dict(client.authorize_access_token(claims_options=options))
                claims = token.pop("userinfo", None)
                if claims is None:
                    raise FederationFailure.because(
                        "token", provider.label, "the token response held no id_token"
                    )
                return identity_from_id_token(name, claims, token if keep_tokens else None)
            token = dict(client.authorize_access_token())
            me = fetch_me(client, token, provider.urls["graph"], provider.client_secret)
            if me is None:
                raise FederationFailure.because(
                    "token", provider.label, "Graph /me answered without an id"
                )
            return identity_from_graph(me, token if keep_tokens else None)

    # -- checks ------------------------------------------------------------------------

    def _enabled(self, name: str) -> Provider:
        provider = self._providers.get(name)
        if provider is None:
            raise FederationFailure.because(
                "not_configured", self.label(name), f"provider {loggable(name, 40)} is off"
            )
        return provider

    @staticmethod
    def _usable_metadata(provider: Provider, metadata: Mapping[str, Any]) -> str:
        """The discovery document's issuer, once the fields we rely on are there."""
        missing = [key for key in REQUIRED_METADATA if not metadata.get(key)]
        if missing:
            raise FederationFailure.because(
                "unavailable",
                provider.label,
                f"the discovery document lacks {', '.join(missing)}",
            )
        issuer = str(metadata["issuer"])
        if not issuer.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            # An issuer is an https URL (OIDC Discovery §3): a bare "local" or
            # "facebook.com" would pose as another route's identities.
            raise FederationFailure.because(
                "token", provider.label, "the discovery document's issuer is not an https URL"
            )
        return issuer

    @staticmethod
    def _refuse_error_answer(provider: Provider, client: Any) -> None:
        """An authorization error response (RFC 6749 §4.1.2.1) ends the sign-in here."""
        error = request.values.get("error")
        if not error:
            return
        state = request.values.get("state")
        if not state or client.framework.get_state_data(session, state) is None:
            # An error answer must belong to a sign-in this browser started; otherwise
            # anyone could end someone's pending sign-in with a crafted link.
            raise FederationFailure.because(
                "state", provider.label, "an error answer without this browser's state"
            )
        client.framework.clear_state_data(session, state)  # the request is over
        detail = f"the provider answered error={loggable(error, 60)}"
        description = request.values.get("error_description")
        if description:
            detail += f" ({loggable(description, 120)})"
        if error in PROVIDER_TROUBLE:
            raise FederationFailure.because("unavailable", provider.label, detail)
        wording = "cancelled" if error == "access_denied" else "refused"
        raise FederationFailure.because("cancelled", provider.label, detail, wording)
