"""The metrics API, one module per resource; the viewsets the router registers."""

from metrics.api.credits import CreditViewSet
from metrics.api.ledger import CreditLedgerViewSet
from metrics.api.readings import ReadingViewSet
from metrics.api.statuses import StatusViewSet, TrendViewSet
from metrics.api.submissions import SubmissionViewSet

__all__ = [
    "CreditLedgerViewSet",
    "CreditViewSet",
    "ReadingViewSet",
    "StatusViewSet",
    "SubmissionViewSet",
    "TrendViewSet",
]
