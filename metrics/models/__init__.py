from metrics.models.readings import PeriodStatus, Reading, ReadingRevision, SlaHealth
from metrics.models.submissions import (
    DataReminder,
    IdempotencyKey,
    Submission,
    SubmissionError,
    SubmissionRow,
)

__all__ = [
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
