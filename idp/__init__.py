"""Gatehouse: a self-hosted OpenID Connect identity provider in the style of Azure AD B2C."""

from __future__ import annotations

from idp.app import create_app

__all__ = ["create_app"]
