"""Domain errors: every refusal carries a stable code and a human message."""

from __future__ import annotations


class ForumError(Exception):
    """A command was refused; nothing changed."""

    code = "refused"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def as_ack(self) -> dict[str, object]:
        """The error ack sent back to the client that asked."""
        return {"ok": False, "error": {"code": self.code, "message": self.message}}


class Forbidden(ForumError):
    code = "forbidden"


class NotFound(ForumError):
    code = "not_found"


class InvalidPayload(ForumError):
    code = "invalid_payload"


class Conflict(ForumError):
    """The command is well formed but the forum's state does not allow it now."""

    code = "conflict"
