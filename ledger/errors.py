"""The ledger's errors; ``api/errors.py`` alone turns them into HTTP problems.

LedgerError                     root
├── EventValidationError        a batch breaks the event schema (per-event index and field)
├── RuleViolation               well-formed, but the ledger's state forbids it (409)
│   ├── InsufficientStock
│   ├── LotOnHold
│   ├── StaleCount              a count's variance was computed against changed stock
│   ├── TotalOverLimit          a stored running total would pass ``MAX_TOTAL``
│   ├── ForbiddenLocation       an event at another organisation's location (403)
│   ├── ForbiddenLot            a write about a lot the writer never handled (403)
│   └── BatchRejected           several events of one batch refused: every one's error
├── IdempotencyConflict         an event id already used for different content (409)
├── NotFound                    an entry, lot, location or checkpoint that does not exist
├── NotYours                    master data only another organisation may change (403)
├── InvalidRange                a log range or proof request outside the tree (400)
└── ConfigurationError          a data directory, key or database that cannot be used
    └── LedgerNotFound          a command pointed at a place that holds no ledger
"""

from __future__ import annotations

from dataclasses import dataclass


class LedgerError(Exception):
    """Root of every error the ledger raises."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one event of a batch."""

    index: int
    field: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"index": self.index, "field": self.field, "message": self.message}


class EventValidationError(LedgerError):
    """The batch breaks the schema or refers to things that do not exist; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"event {first.index}, {first.field}: {first.message}{more}")


class RuleViolation(LedgerError):
    """An event that is well formed but that the ledger's current state forbids."""

    def __init__(
        self,
        index: int,
        message: str,
        field: str = "event",
        details: dict[str, object] | None = None,
    ) -> None:
        super().__init__(f"event {index}: {message}")
        self.index = index
        self.message = message
        self.field = field
        self.details = details or {}

    def problem(self) -> Problem:
        return Problem(self.index, self.field, self.message)


class InsufficientStock(RuleViolation):
    """Shipping, selling or using more than is on hand."""


class ForbiddenLocation(RuleViolation):
    """An event recorded at a location of another organisation than the writer's."""


class ForbiddenLot(RuleViolation):
    """A hold, observation or count of a lot the writer's organisation never made, held,
    shipped or received (``ledger.lineage.visibility``): not its business to write about."""


class BatchRejected(RuleViolation):
    """More than one event of a batch was refused; ``errors`` holds each one's error, in
    the batch's order, and ``problems`` every problem. Nothing was written."""

    def __init__(self, errors: list[RuleViolation | EventValidationError]) -> None:
        self.errors = errors
        self.problems = [
            p
            for e in errors
            for p in (e.problems if isinstance(e, EventValidationError) else [e.problem()])
        ]
        first = self.problems[0]
        super().__init__(
            first.index, f"{first.message} (and {len(self.problems) - 1} more)", first.field
        )

    def all_of(self, kind: type[LedgerError]) -> bool:
        """Whether every refused event's error is a ``kind``."""
        return all(isinstance(e, kind) for e in self.errors)


class LotOnHold(RuleViolation):
    """Moving a lot that is on hold, quarantined or recalled."""


class StaleCount(RuleViolation):
    """An adjust event whose ``counted`` quantity is not the stock on hand plus its variance:
    the variance was computed against stock that has changed since (another count, a sale)."""


class TotalOverLimit(RuleViolation):
    """An event that would take a stored running total (stock on hand, a lot's flow at a
    location, a day's total of a product, an order line's) past ``quantity.MAX_TOTAL``."""


class IdempotencyConflict(LedgerError):
    """An event id that the log already holds with different content."""

    def __init__(self, index: int, event_id: str, seq: int) -> None:
        self.index = index
        self.event_id = event_id
        self.seq = seq
        super().__init__(
            f"event {index}: event_id {event_id} is already entry {seq} with different content"
        )


class NotFound(LedgerError):
    """Something asked for by key that does not exist."""


class NotYours(LedgerError):
    """Master data that belongs to another organisation, which alone may change it."""


class InvalidRange(LedgerError):
    """A range or proof request that does not fit the tree."""


class ConfigurationError(LedgerError):
    """A data directory, key or database that cannot be used."""


class LedgerNotFound(ConfigurationError):
    """A command that works on an existing ledger was pointed at a data directory or
    database that holds none (or a ledger whose signing key is not where it looked).
    ``data_dir`` is the directory it looked in, absolute."""

    def __init__(self, message: str, data_dir: str) -> None:
        super().__init__(message)
        self.data_dir = data_dir
