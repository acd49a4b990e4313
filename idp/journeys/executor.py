"""Plans a policy into steps and runs them: show the current step, judge a submission.

The executor is the only thing that moves a journey forward. Steps report; it records
their context updates, skips steps whose conditions hold, runs page-less steps on
arrival, and, after the last step, returns the finished authentication.

    executor = Executor(policy, services)
    outcome = executor.submit(progress, "signin", {"email": "...", "password": "..."}, now)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.journeys import context as keys
from idp.journeys.conditions import skips
from idp.journeys.policy import Policy, StepSpec
from idp.journeys.results import (
    Authentication,
    Completed,
    Leave,
    Page,
    StepInvalid,
    StepLeave,
    StepResult,
)
from idp.journeys.steps import STEP_TYPES
from idp.journeys.steps.base import JourneyServices

#: Page-less steps in a row before the executor decides a policy loops (a policy bug).
_MAX_AUTOMATIC = 50


@dataclass
class JourneyProgress:
    """The plain state of a journey: where it is and what it knows."""

    step_index: int
    context: dict[str, Any]


class Executor:
    def __init__(self, policy: Policy, services: JourneyServices) -> None:
        self.policy = policy
        self.services = services

    def _current(self, progress: JourneyProgress) -> StepSpec | None:
        """Advance past steps whose skip conditions hold; return the step to run, if any."""
        steps = self.policy.steps
        while progress.step_index < len(steps):
            step = steps[progress.step_index]
            if not skips(step.skip_if, progress.context):
                return step
            progress.step_index += 1
        return None

    def show(self, progress: JourneyProgress, auth_time: int) -> Page | Completed | Leave:
        for _ in range(_MAX_AUTOMATIC):
            step = self._current(progress)
            if step is None:
                return self._complete(progress, auth_time)
            step_type = STEP_TYPES[step.type](step.id)
            if not step_type.automatic:
                return step_type.page(step.id, progress.context, step.settings, self.services)
            result = step_type.arrive(progress.context, step.settings, self.services)
            page = self._apply(progress, step, result)
            if page is not None:
                return page
        raise JourneyIncomplete(f"policy {self.policy.id} keeps running steps without a page")

    def submit(
        self, progress: JourneyProgress, step_id: str, form: dict[str, str], auth_time: int
    ) -> Page | Completed | Leave:
        step = self._current(progress)
        if step is None:
            return self._complete(progress, auth_time)
        if step.id != step_id:
            # A stale tab or the back button: show where the journey really is.
            return self.show(progress, auth_time)
        step_type = STEP_TYPES[step.type](step.id)
        result = step_type.submit(progress.context, form, step.settings, self.services)
        page = self._apply(progress, step, result)
        return page if page is not None else self.show(progress, auth_time)

    def _apply(
        self, progress: JourneyProgress, step: StepSpec, result: StepResult
    ) -> Page | Leave | None:
        """Record a step's report; the page to show again, where to leave for, or None to
        move on."""
        context = progress.context
        signed_in_before = context.get(keys.USER_OBJECT_ID)
        context.update(result.updates)
        if isinstance(result, StepLeave):
            return Leave(result.provider)
        if isinstance(result, StepInvalid):
            step_type = STEP_TYPES[step.type](step.id)
            page = step_type.page(step.id, context, step.settings, self.services)
            values = {**page.values, **result.values}
            return Page(step.id, page.template, values, result.errors, page.settings)
        object_id = context.get(keys.USER_OBJECT_ID)
        if object_id and object_id != signed_in_before:
            # Someone has just signed in (or signed up): later steps see their account's
            # stored claims, not what was typed for another address earlier, and the
            # sign-in is new, so it is timed now and the old browser session is not theirs.
            for key in [k for k in context if k.startswith(keys.CLAIMS)]:
                del context[key]
            stored = self.services.load_claims(object_id)
            context.update({keys.claim(name): value for name, value in stored.items()})
            context[keys.AUTH_TIME] = int(self.services.now().timestamp())
            context[keys.SESSION_SID] = None
        if result.restart:
            context[keys.FORM_STATE] = {}
        progress.step_index = 0 if result.restart else progress.step_index + 1
        return None

    def _complete(self, progress: JourneyProgress, auth_time: int) -> Completed:
        context = progress.context
        object_id = context.get(keys.USER_OBJECT_ID)
        if not object_id:
            raise JourneyIncomplete(
                f"policy {self.policy.id} finished without a step that signs the person in"
            )
        return Completed(
            Authentication(
                user_object_id=object_id,
                route=context.get(keys.ROUTE, "local"),
                amr=list(context.get(keys.AMR, [])),
                auth_time=int(context.get(keys.AUTH_TIME) or auth_time),
                new_user=bool(context.get(keys.NEW_USER)),
                session_sid=context.get(keys.SESSION_SID),
                keep_signed_in=bool(context.get(keys.KEEP_SIGNED_IN)),
                sign_in_route=(
                    "local"
                    if context.get(keys.ROUTE, "local") == "local"
                    else context.get(keys.FEDERATION_PROVIDER)
                ),
            )
        )


class JourneyIncomplete(RuntimeError):
    """A policy ran out of steps before anyone was signed in: a policy bug."""
