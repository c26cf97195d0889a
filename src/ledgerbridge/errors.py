"""The error tree of ledgerbridge.

Every error the platform raises on purpose derives from :class:`LedgerbridgeError`.
The second level says what the caller does next::

    LedgerbridgeError
    +-- ConfigError          a person fixes the setup (401/403, bad blueprint, missing secret); never retried
    |   +-- BlueprintError   a blueprint document is invalid (carries every problem with its line)
    +-- TransientError       retry with backoff (timeouts, 429, 5xx, dropped connections); may carry retry_after
    +-- AmbiguousError       a write may or may not have been applied; reconcile through the idempotency key
    +-- PermanentError       fail this step (other 4xx, broken contracts, business rules refused by the target)
    +-- RecordError          one input record is bad; quarantine it and carry on
    |   +-- DataQualityError a data-quality rule of the blueprint refused the record
    +-- NotFoundError        the object does not exist (or belongs to another tenant)

Errors carry a user-facing ``message`` and an optional ``internal_detail``; neither may
contain secrets. Context goes in attributes, never in strings that must be parsed.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AmbiguousError",
    "BlueprintError",
    "ConfigError",
    "DataQualityError",
    "LedgerbridgeError",
    "NotFoundError",
    "PermanentError",
    "RecordError",
    "TransientError",
]


class LedgerbridgeError(Exception):
    """Something went wrong in ledgerbridge."""

    #: the error class as stored in the exception queue
    kind = "error"

    def __init__(
        self,
        message: str | None = None,
        *,
        hint: str | None = None,
        internal_detail: str | None = None,
        connector: str | None = None,
        status_code: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message or (self.__class__.__doc__ or self.__class__.__name__).strip()
        self.hint = hint
        self.internal_detail = internal_detail
        self.connector = connector
        self.status_code = status_code
        self.field = field
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        """Return the error as a JSON-ready dict for the exception queue."""
        return {
            "kind": self.kind,
            "type": type(self).__name__,
            "message": self.message,
            "hint": self.hint,
            "internal_detail": self.internal_detail,
            "connector": self.connector,
            "status_code": self.status_code,
            "field": self.field,
        }


class ConfigError(LedgerbridgeError):
    """The setup is wrong and a person has to fix it."""

    kind = "config"


class BlueprintError(ConfigError):
    """The blueprint document is invalid."""

    def __init__(self, problems: list[Any], *, source: str = "<blueprint>") -> None:
        self.problems = problems
        self.source = source
        lines = [str(p) for p in problems]
        super().__init__(f"{source}: {len(problems)} problem(s)\n" + "\n".join(lines))


class TransientError(LedgerbridgeError):
    """A temporary failure; the step is retried with backoff."""

    kind = "transient"

    def __init__(
        self, message: str | None = None, *, retry_after: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class AmbiguousError(TransientError):
    """The write may have been applied but the answer was lost; reconcile before retrying."""

    kind = "ambiguous"


class PermanentError(LedgerbridgeError):
    """The target refused the request; retrying the same request cannot succeed."""

    kind = "permanent"


class RecordError(LedgerbridgeError):
    """One input record is bad; it is parked and the rest of the batch goes on."""

    kind = "record"


class DataQualityError(RecordError):
    """A data-quality rule refused the record."""

    kind = "data_quality"

    def __init__(
        self, message: str | None = None, *, rule: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.rule = rule


class NotFoundError(LedgerbridgeError):
    """The object does not exist."""

    kind = "not_found"
