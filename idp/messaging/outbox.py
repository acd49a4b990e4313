"""The development outbox: emails appended to a file instead of being sent.

Each message is one JSON object on its own line, so developers can ``tail -f`` the file
and tests can read the code or link out of ``data``::

    sender = OutboxSender(Path("instance/outbox.jsonl"), "no-reply@example.org", clock)
    sender.send(Email(to="amina@example.com", subject="Code", text="123456",
                      html="<p>123456</p>", kind="verification_code",
                      data={"code": "123456"}))
    read_outbox(Path("instance/outbox.jsonl"), to="Amina@Example.com")[-1]["data"]["code"]
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path
from typing import Any

from idp.clock import Clock
from idp.messaging.email import Email, EmailNotSent


class OutboxSender:
    """Appends each email to ``path`` as one line of JSON; several processes may share it.

    Example::

        OutboxSender(Path("/tmp/outbox.jsonl"), "no-reply@example.org", SystemClock())
    """

    def __init__(self, path: Path, from_address: str, clock: Clock) -> None:
        self.path = Path(path)
        self.from_address = from_address
        self.clock = clock

    def send(self, email: Email) -> None:
        record = {
            "kind": email.kind,
            "to": email.to,
            "from": self.from_address,
            "subject": email.subject,
            "text": email.text,
            "html": email.html,
            "data": email.data,
            "sent_at": self.clock.now().isoformat(),
        }
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
            raise EmailNotSent(
                f"could not write the email to the outbox file {self.path}: {error.strerror}"
            ) from error


def read_outbox(path: Path, to: str | None = None) -> list[dict[str, Any]]:
    """Return the messages in the outbox, oldest first; only those to ``to`` if given.

    Recipients are compared without regard to case, as people type addresses both ways.
    A missing file is an empty outbox.
    """
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
    if to is None:
        return messages
    wanted = to.strip().casefold()
    return [message for message in messages if message["to"].strip().casefold() == wanted]
