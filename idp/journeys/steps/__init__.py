"""Step types: the fixed vocabulary a policy's steps are written in.

Each step type is a class registered under its policy name; a policy file names it in
``type = "..."``. See steps/base.py for how a step type is written.
"""

from __future__ import annotations

from idp.journeys.steps import accounts, email_code, federation, forms, mfa, signin
from idp.journeys.steps.base import STEP_TYPES, StepType

__all__ = [
    "STEP_TYPES",
    "StepType",
    "accounts",
    "email_code",
    "federation",
    "forms",
    "mfa",
    "signin",
]
