from metrics.models.ledger import CreditEntry, CreditEntryEvent
from metrics.models.readings import PeriodStatus, Reading, ReadingRevision, SlaHealth
from metrics.models.submissions import (
    DataReminder,
    IdempotencyKey,
    Submission,
    SubmissionError,
    SubmissionRow,
)

__all__ = [
    "CreditEntry",
    "CreditEntryEvent",
    "DataReminder",
    "IdempotencyKey",
    "PeriodStatus",
    "Reading",
    "ReadingRevision",
    "SlaHealth",
    "Submission",
    "SubmissionError",
    "SubmissionRow",
]
