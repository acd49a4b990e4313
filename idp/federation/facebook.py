"""Facebook: OAuth 2 without an ID token, so the person is whoever Graph ``/me`` says.

Facebook's token answer is an access token only; the profile comes from
``GET {graph_url}?fields=id,name,first_name,last_name,email`` with that token. The call
also carries ``appsecret_proof`` (HMAC-SHA256 of the token keyed with the app secret),
which Facebook demands of apps with "Require App Secret" on and accepts from all::

    me = fetch_me(client, token, "https://graph.facebook.com/v19.0/me", app_secret)
    me["id"]            # "10158...", the app-scoped user id: the subject
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from idp.federation.providers import GRAPH_FIELDS


def appsecret_proof(access_token: str, app_secret: str) -> str:
    """Facebook's proof that a Graph call comes from the app's server, not a stolen token."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def fetch_me(
    client: Any, token: dict[str, Any], graph_url: str, app_secret: str
) -> dict[str, Any] | None:
    """Graph ``/me`` for the person behind ``token``; None when the answer is no profile.

    HTTP errors raise ``requests.HTTPError``, for the caller to sort into "unavailable"
    (5xx) or "token" (4xx: Facebook refused the token).
    """
    params = {
        "fields": GRAPH_FIELDS,
        "appsecret_proof": appsecret_proof(str(token.get("access_token", "")), app_secret),
    }
    response = client.get(graph_url, token=token, params=params)
    response.raise_for_status()
    me = response.json()
    if not isinstance(me, dict) or not me.get("id"):
        return None
    return me
