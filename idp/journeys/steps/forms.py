"""Form steps: pages of questions from the field registry (journeys/fields.py).

One engine, several step types that differ in defaults and purpose: ``collect_claims``,
``new_password``, ``review_details``, ``edit_profile`` and ``privacy_consent``. Answers go
into the journey context as claims; a signed-in person's answers are saved to their
account at once, a newcomer's wait for the step that creates the account.
"""

from __future__ import annotations

from typing import Any, ClassVar

from idp.address import AddressLookupError, normalise_postcode
from idp.journeys import context as keys
from idp.journeys.context import N_
from idp.journeys.fields import (
    FIELDS,
    NOT_CLAIMS,
    Field,
    check_email,
    check_text,
    date_parts,
    display_phone,
    is_blank,
    parse_date,
    parse_phone,
    unknown_fields,
)
from idp.journeys.results import Page, StepInvalid, StepOk, StepResult
from idp.journeys.steps.base import (
    JourneyServices,
    Setting,
    StepType,
    form_state,
    register,
    with_form_state,
)
from idp.security.password_rules import PasswordRules, check_password

ADDRESS_ACTIONS = ("find_address", "manual_address", "update_address")
_MANUAL = ("line1", "line2", "town", "county", "postcode")


def _labels(value: dict[str, Any]) -> str | None:
    trouble = unknown_fields(list(value))
    if trouble:
        return trouble
    if not all(isinstance(v, str) for v in value.values()):
        return "values must be text"
    return None


def _field_list(value: list[Any]) -> str | None:
    return unknown_fields(value)


def _schema(
    heading: str, fields: list[str], button: str, intro: str = "", flag_blanks: bool = False
) -> dict[str, Setting]:
    return {
        "heading": Setting(str, heading, "The page's heading."),
        "intro": Setting(str, intro, "A paragraph under the heading; empty for none."),
        "fields": Setting(
            list, fields, "The questions, in order, from: " + ", ".join(FIELDS) + ".", _field_list
        ),
        "optional": Setting(
            list,
            [],
            "Fields that may be left blank; every other field must be answered.",
            _field_list,
        ),
        "labels": Setting(
            dict, {}, "Labels to use instead of the standard ones, by field name.", _labels
        ),
        "button": Setting(str, button, "The button's words."),
        "flag_blanks": Setting(
            bool, flag_blanks, "Mark the fields that have no value yet, so people fill them."
        ),
        "privacy_version": Setting(
            str, "", "With the privacy_consent field: the version of the policy agreed to."
        ),
        "privacy_url": Setting(
            str, "", "With the privacy_consent field: where the privacy policy can be read."
        ),
    }



def new_password_errors(
    password: str, confirm: str, rules: PasswordRules, personal: list[str]
) -> dict[str, str]:
    """A new password typed twice ("password", "password-confirm"): the rule it breaks,
    or what is wrong with the second copy; empty when it will do."""
    problem = check_password(password, rules, personal)
    if problem:
        return {"password": problem}
    if not confirm:
        return {"password-confirm": N_("Enter the password again to confirm it")}
    if confirm != password:
        return {"password-confirm": N_(
            "The passwords do not match. Enter the same password twice")}
    return {}

class FormStep(StepType):
    """The engine behind every form step type (not a step type itself)."""

    template = "steps/form.html"
    #: Whether the page is filled from the account's stored claims.
    prefill: ClassVar[bool] = True

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> str | None:
        if not settings["fields"]:
            return "settings.fields must list at least one field"
        if "privacy_consent" in settings["fields"] and not settings["privacy_version"]:
            return "settings.privacy_version is needed with the privacy_consent field"
        stray = [n for n in settings["optional"] if n not in settings["fields"]]
        if stray:
            return f"settings.optional names {stray[0]!r}, which is not in settings.fields"
        return None

    def fields(self, settings: dict[str, Any]) -> list[tuple[Field, str, bool]]:
        """Each field with its label and whether it must be answered."""
        return [
            (
                FIELDS[name],
                settings["labels"].get(name, FIELDS[name].label),
                name not in settings["optional"],
            )
            for name in settings["fields"]
        ]

    # -- the page ------------------------------------------------------------------------
    def page(
        self,
        step_id: str,
        context: dict[str, Any],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> Page:
        values: dict[str, Any] = {}
        blanks: list[str] = []
        for field, _label, _required in self.fields(settings):
            stored = context.get(keys.claim(field.name)) if self.prefill else None
            if field.kind == "date":
                values[field.name] = date_parts(stored)
            elif field.kind == "tel":
                values[field.name] = display_phone(stored)
            elif field.kind == "consent":
                agreed = context.get(keys.PRIVACY_CONSENT) or {}
                values[field.name] = agreed.get("version") == settings["privacy_version"]
            elif field.kind == "address":
                values["address"] = self._address_view(context, step_id, stored)
            elif field.kind == "email":
                values[field.name] = stored or context.get(keys.EMAIL_VERIFIED) or ""
                values["email_fixed"] = bool(
                    context.get(keys.USER_OBJECT_ID) or context.get(keys.EMAIL_VERIFIED)
                )
            elif field.kind != "password":
                values[field.name] = stored or ""
            if field.name not in NOT_CLAIMS and is_blank(stored):
                blanks.append(field.name)
        values["blanks"] = blanks if settings["flag_blanks"] else []
        rules = services.password_rules
        values["password_rules"] = {
            "min": rules.min_length,
            "max": rules.max_length,
            "classes": rules.min_character_classes,
        }
        values["fields"] = [
            {
                "name": f.name,
                "kind": f.kind,
                "label": label,
                "required": required,
                "autocomplete": f.autocomplete,
                "width": f.width,
            }
            for f, label, required in self.fields(settings)
        ]
        return Page(step_id, self.template, values=values, settings=settings)

    def _address_view(self, context: dict[str, Any], step_id: str, stored: Any) -> dict[str, Any]:
        state = form_state(context, step_id).get("address", {})
        mode = state.get("mode") or ("show" if stored else "lookup")
        current = stored if isinstance(stored, dict) else {}
        return {
            "mode": mode,
            "postcode": state.get("postcode", ""),
            "results": state.get("results", []),
            "current": current.get("formatted", "").split("\n") if current else [],
            "manual": state.get("manual", {}),
        }

    # -- a submission --------------------------------------------------------------------
    def submit(
        self,
        context: dict[str, Any],
        form: dict[str, str],
        settings: dict[str, Any],
        services: JourneyServices,
    ) -> StepResult:
        action = form.get("action", "")
        if action in ADDRESS_ACTIONS:
            return self._address_action(action, context, form, services)
        errors: dict[str, str] = {}
        echo: dict[str, Any] = {}
        claims: dict[str, Any] = {}
        updates: dict[str, Any] = {}
        password: str | None = None
        for field, label, required in self.fields(settings):
            name = field.name
            if field.kind in ("text", "email"):
                value = form.get(name, "").strip()
                if field.kind == "email" and self._email_fixed(context):
                    continue
                echo[name] = value
                check = check_email if field.kind == "email" else None
                problem = (
                    check(value, label, required)
                    if check
                    else check_text(value, label, required, field.max_length)
                )
                if problem:
                    errors[name] = problem
                else:
                    claims[name] = value or None
            elif field.kind == "tel":
                echo[name] = form.get(name, "")
                number, problem = parse_phone(form.get(name, "").strip(), label, required)
                if problem:
                    errors[name] = problem
                else:
                    claims[name] = number
            elif field.kind == "date":
                parts = {p: form.get(f"{name}-{p}", "") for p in ("day", "month", "year")}
                echo[name] = parts
                iso, problem = parse_date(
                    parts["day"],
                    parts["month"],
                    parts["year"],
                    label,
                    required,
                    services.now().date(),
                )
                if problem:
                    errors[name] = problem
                else:
                    claims[name] = iso
            elif field.kind == "consent":
                agreed = form.get(name) == "yes"
                echo[name] = agreed
                if not agreed and required:
                    errors[name] = N_("Select that you agree to the privacy policy to continue")
                elif agreed:
                    updates[keys.PRIVACY_CONSENT] = {
                        "version": settings["privacy_version"],
                        "at": int(services.now().timestamp()),
                    }
            elif field.kind == "password":
                password = form.get("password", "")
                errors.update(new_password_errors(
                    password, form.get("password-confirm", ""), services.password_rules,
                    self._personal(context, form)))
            elif field.kind == "address":
                address, problem = self._address_answer(context, form, required)
                if problem:
                    errors[problem[0]] = problem[1]
                else:
                    claims["address"] = address
        if errors:
            return StepInvalid(errors, echo)
        if password is not None:
            updates[keys.PASSWORD_HASH] = services.hash_password(password)
        for name, value in claims.items():
            updates[keys.claim(name)] = value
        object_id = context.get(keys.USER_OBJECT_ID)
        if object_id:
            # A signed-in person's answers are theirs already: save them now.
            if claims:
                services.save_claims(object_id, claims)
            if keys.PRIVACY_CONSENT in updates:
                services.record_privacy_consent(object_id, settings["privacy_version"])
        return StepOk(with_form_state(context, self.step_id, {}, updates))

    def _email_fixed(self, context: dict[str, Any]) -> bool:
        """A proven address, or a signed-in person's, is shown but changed elsewhere."""
        return bool(context.get(keys.USER_OBJECT_ID) or context.get(keys.EMAIL_VERIFIED))

    def _personal(self, context: dict[str, Any], form: dict[str, str]) -> list[str]:
        """The person's own words, which a password must not be built from."""
        words = [
            form.get("given_name", ""),
            form.get("family_name", ""),
            form.get("email", ""),
            str(context.get(keys.claim("given_name")) or ""),
            str(context.get(keys.claim("family_name")) or ""),
            str(context.get(keys.claim("email")) or context.get(keys.EMAIL_VERIFIED) or ""),
        ]
        return [w.strip() for w in words if w and w.strip()]

    # -- the address question ------------------------------------------------------------
    def _address_action(
        self,
        action: str,
        context: dict[str, Any],
        form: dict[str, str],
        services: JourneyServices,
    ) -> StepResult:
        """ "Find address", "Enter address manually", "Update Address": the page stays,
        keeping what was typed in the other fields."""
        echo = {k: v for k, v in form.items() if not k.startswith("password")}
        state = dict(form_state(context, self.step_id))
        if action == "manual_address":
            state["address"] = {"mode": "manual"}
        elif action == "update_address":
            state["address"] = {"mode": "lookup"}
        else:
            typed = form.get("address-postcode", "").strip()
            postcode = normalise_postcode(typed)
            state["address"] = {"mode": "lookup", "postcode": typed}
            if postcode is None:
                problem = (
                    N_("Enter a postcode, like LE3 9RE")
                    if not typed
                    else N_("Enter a real postcode, like LE3 9RE")
                )
                return StepInvalid(
                    {"address-postcode": problem},
                    echo,
                    with_form_state(context, self.step_id, state, {}),
                )
            try:
                found = services.find_addresses(postcode)
            except AddressLookupError as error:
                state["address"] = {"mode": "manual", "manual": {"postcode": postcode}}
                return StepInvalid(
                    {"address-line1": str(error)},
                    echo,
                    with_form_state(context, self.step_id, state, {}),
                )
            if not found:
                return StepInvalid(
                    {
                        "address-postcode": N_(
                            "We could not find any addresses for {postcode}. Check the "
                            "postcode, or select 'Enter address manually'"
                        ).format(postcode=postcode)
                    },
                    echo,
                    with_form_state(context, self.step_id, state, {}),
                )
            state["address"] = {"mode": "choose", "postcode": postcode, "results": found}
        return StepInvalid({}, echo, with_form_state(context, self.step_id, state, {}))

    def _address_answer(
        self, context: dict[str, Any], form: dict[str, str], required: bool
    ) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:
        from idp.address import Address

        state = form_state(context, self.step_id).get("address", {})
        stored = context.get(keys.claim("address"))
        mode = state.get("mode") or ("show" if stored else "lookup")
        if mode == "show":
            return stored, None
        if mode == "choose":
            results = state.get("results", [])
            choice = form.get("address-choice", "")
            if not choice.isdigit() or not 0 <= int(choice) < len(results):
                return None, ("address-choice", N_("Select your address from the list"))
            return Address(**results[int(choice)]).as_claim(), None
        if mode == "manual":
            parts = {p: form.get(f"address-{p}", "").strip() for p in _MANUAL}
            if not parts["line1"]:
                return None, ("address-line1", N_("Enter the first line of your address"))
            if not parts["town"]:
                return None, ("address-town", N_("Enter your town or city"))
            postcode = normalise_postcode(parts["postcode"])
            if postcode is None:
                return None, ("address-postcode", N_("Enter a real postcode, like LE3 9RE"))
            parts["postcode"] = postcode
            return Address(**parts).as_claim(), None
        if stored:
            # "Update Address" pressed, then nothing looked up: keep the address there was.
            return stored, None
        if required:
            return None, (
                "address-postcode",
                N_("Enter your postcode and select 'Find address', or enter your address manually"),
            )
        return None, None


@register
class CollectClaims(FormStep):
    """Asks for details about the person; any fields from the registry.

    Example (the Parent Portal's "Create" page)::

        [[steps]]
        id = "details"
        type = "collect_claims"
        [steps.settings]
        fields = ["password", "given_name", "family_name"]
        button = "Create"
    """

    name = "collect_claims"
    provides = (keys.PASSWORD_HASH, keys.PRIVACY_CONSENT)
    settings_schema = _schema("Your details", ["given_name", "family_name"], "Continue")


@register
class NewPassword(FormStep):
    """A new password, entered twice and checked against the policy's password rules.

    Example (password reset)::

        [[steps]]
        id = "new_password"
        type = "new_password"
    """

    name = "new_password"
    provides = (keys.PASSWORD_HASH,)
    prefill = False
    settings_schema = _schema("Create a new password", ["password"], "Continue")


_REVIEW_INTRO = N_(
    "Please review your account details to check that they are still correct. If any are "
    "blank then please consider entering them, as it will help us to contact you should "
    "this be required."
)


@register
class ReviewDetails(FormStep):
    """The "Review Account" page: the account's details to check, blanks flagged.

    Example (the Parent Portal)::

        [[steps]]
        id = "review"
        type = "review_details"
        [steps.settings]
        optional = ["middle_name", "birthdate", "address", "daytime_phone"]
    """

    name = "review_details"
    settings_schema = _schema(
        "Review Account",
        [
            "title",
            "given_name",
            "middle_name",
            "family_name",
            "birthdate",
            "address",
            "daytime_phone",
            "evening_phone",
            "phone_number",
            "email",
        ],
        "Confirm Details",
        intro=_REVIEW_INTRO,
        flag_blanks=True,
    )


@register
class EditProfile(FormStep):
    """ "Edit your profile": change details and "Continue" saves them to the account.

    Needs the person signed in (a policy with ``single_sign_on = false`` and a sign-in
    step skipped when ``signed_in``). Example::

        [[steps]]
        id = "edit"
        type = "edit_profile"
        [steps.settings]
        fields = ["given_name", "family_name", "phone_number", "address"]
    """

    name = "edit_profile"
    settings_schema = _schema(
        "Edit your profile", ["given_name", "family_name", "phone_number", "address"], "Continue"
    )


@register
class PrivacyConsent(FormStep):
    """Agreement to a versioned privacy policy, asked again whenever the version changes.

    A person who agreed to this version already passes straight through. Example::

        [[steps]]
        id = "privacy"
        type = "privacy_consent"
        [steps.settings]
        privacy_version = "2025-04"
        privacy_url = "https://www.leicestershire.gov.uk/privacy"
    """

    name = "privacy_consent"
    automatic = True
    provides = (keys.PRIVACY_CONSENT,)
    settings_schema = _schema(
        "Our privacy policy",
        ["privacy_consent"],
        "Continue",
        intro=N_("We have updated our privacy policy. Read it and agree to it to continue."),
    )

    def arrive(
        self, context: dict[str, Any], settings: dict[str, Any], services: JourneyServices
    ) -> StepResult:
        version = settings["privacy_version"]
        object_id = context.get(keys.USER_OBJECT_ID)
        agreed = (context.get(keys.PRIVACY_CONSENT) or {}).get("version")
        if object_id and agreed != version:
            agreed = services.privacy_version_agreed(object_id)
        return StepOk() if agreed == version else StepInvalid({})
