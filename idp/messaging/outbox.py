"""The development outbox: emails, text messages and calls appended to a file, not sent.

Each message is one JSON object on its own line, so developers can ``tail -f`` the file
and tests can read the code or link out of ``data``. ``channel`` says what it was
("email", "sms" or "voice") and ``body`` what the person would have read or heard::

    sender = OutboxSender(Path("instance/outbox.jsonl"), "no-reply@example.org", clock)
    sender.send(Email(to="amina@example.com", subject="Code", text="123456",
                      html="<p>123456</p>", kind="verification_code",
                      data={"code": "123456"}))
    sender.send_sms(TextMessage(to="+447700900123", body="Your code is 481592",
                                kind="mfa_code", data={"code": "481592"}))
    read_outbox(Path("instance/outbox.jsonl"), to="Amina@Example.com")[-1]["data"]["code"]
    read_outbox(Path("instance/outbox.jsonl"), channel="sms")[-1]["data"]["code"]
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path
from typing import Any

from idp.clock import Clock
from idp.messaging.email import Email, EmailNotSent
from idp.messaging.errors import MessageNotSent
from idp.messaging.phone import TextMessage, VoiceCall

CHANNELS = ("email", "sms", "voice")


class OutboxSender:
    """Appends each message to ``path`` as one line of JSON; several processes may share it.

    It is an ``EmailSender``, an ``SmsSender`` and a ``VoiceSender``. ``from_address`` is
    written on emails only.

    Example::

        OutboxSender(Path("/tmp/outbox.jsonl"), "no-reply@example.org", SystemClock())
    """

    def __init__(self, path: Path, from_address: str, clock: Clock) -> None:
        self.path = Path(path)
        self.from_address = from_address
        self.clock = clock

    def send(self, email: Email) -> None:
        record = {
            "channel": "email",
            "kind": email.kind,
            "to": email.to,
            "from": self.from_address,
            "subject": email.subject,
            "body": email.text,
            "text": email.text,
            "html": email.html,
            "data": email.data,
            "sent_at": self.clock.now().isoformat(),
        }
        self._append(record, EmailNotSent, "email")

    def send_sms(self, message: TextMessage) -> None:
        record = {
            "channel": "sms",
            "kind": message.kind,
            "to": message.to,
            "body": message.body,
            "data": message.data,
            "sent_at": self.clock.now().isoformat(),
        }
        self._append(record, MessageNotSent, "text message")

    def call(self, call: VoiceCall) -> None:
        record = {
            "channel": "voice",
            "kind": call.kind,
            "to": call.to,
            "body": call.spoken,
            "data": call.data,
            "sent_at": self.clock.now().isoformat(),
        }
        self._append(record, MessageNotSent, "voice call")

    def _append(self, record: dict[str, Any], failure: type[MessageNotSent], what: str) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                # Append mode alone does not stop two processes interleaving a long line
                # that Python writes in several chunks; the lock makes each line whole.
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    handle.write(line)
                    handle.flush()
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        except OSError as error:
            raise failure(
                f"could not write the {what} to the outbox file {self.path}: {error.strerror}"
            ) from error


def read_outbox(
    path: Path, to: str | None = None, channel: str | None = None
) -> list[dict[str, Any]]:
    """Return the messages in the outbox, oldest first; only those to ``to`` if given,
    and only those of ``channel`` ("email", "sms" or "voice") if given.

    Recipients are compared without regard to case, as people type addresses both ways.
    Lines written before the outbox took texts and calls have no ``channel``: they are
    emails. A missing file is an empty outbox.

    Example::

        read_outbox(path, to="+447700900123", channel="voice")[-1]["data"]["code"]
    """
    if channel is not None and channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
    try:
        with Path(path).open(encoding="utf-8") as handle:
            # A shared lock waits for a writer to finish, so no half-written last line.
            fcntl.flock(handle, fcntl.LOCK_SH)
            try:
                lines = handle.readlines()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    except FileNotFoundError:
        return []
    messages = [json.loads(line) for line in lines if line.strip()]
    if channel is not None:
        messages = [m for m in messages if m.get("channel", "email") == channel]
    if to is None:
        return messages
    wanted = to.strip().casefold()
    return [message for message in messages if message["to"].strip().casefold() == wanted]
