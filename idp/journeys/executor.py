"""Plans a policy into steps and runs them: show the current step, judge a submission.

The executor is the only thing that moves a journey forward. Steps report; it records
their context updates, skips steps whose conditions hold, and, after the last step,
returns the finished authentication.

    executor = Executor(policy, directory)
    outcome = executor.submit(state, {"email": "...", "password": "..."}, now)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.journeys import context as keys
from idp.journeys.conditions import holds
from idp.journeys.policy import Policy, StepSpec
from idp.journeys.results import Authentication, Completed, Page, StepInvalid
from idp.journeys.steps import STEP_TYPES
from idp.journeys.steps.base import AccountDirectory


@dataclass
class JourneyProgress:
    """The plain state of a journey: where it is and what it knows."""

    step_index: int
    context: dict[str, Any]


class Executor:
    def __init__(self, policy: Policy, directory: AccountDirectory) -> None:
        self.policy = policy
        self.directory = directory

    def _current(self, progress: JourneyProgress) -> StepSpec | None:
        """Advance past steps whose skip conditions hold; return the step to run, if any."""
        steps = self.policy.steps
        while progress.step_index < len(steps):
            step = steps[progress.step_index]
            if not any(holds(c, progress.context) for c in step.skip_if):
                return step
            progress.step_index += 1
        return None

    def show(self, progress: JourneyProgress, auth_time: int) -> Page | Completed:
        step = self._current(progress)
        if step is None:
            return self._complete(progress, auth_time)
        return STEP_TYPES[step.type]().page(step.id, progress.context, step.settings)

    def submit(
        self, progress: JourneyProgress, step_id: str, form: dict[str, str], auth_time: int
    ) -> Page | Completed:
        step = self._current(progress)
        if step is None:
            return self._complete(progress, auth_time)
        if step.id != step_id:
            # A stale tab or the back button: show where the journey really is.
            return self.show(progress, auth_time)
        step_type = STEP_TYPES[step.type]()
        result = step_type.submit(progress.context, form, step.settings, self.directory)
        if isinstance(result, StepInvalid):
            page = step_type.page(step.id, progress.context, step.settings)
            values = {**page.values, **result.values}
            return Page(step.id, page.template, values, result.errors, step.settings)
        progress.context.update(result.updates)
        progress.step_index += 1
        return self.show(progress, auth_time)

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
                auth_time=auth_time,
                new_user=bool(context.get(keys.NEW_USER)),
            )
        )


class JourneyIncomplete(RuntimeError):
    """A policy ran out of steps before anyone was signed in: a policy bug."""
