from rest_framework.routers import SimpleRouter

from contracts.api import ContractViewSet, ServiceLevelViewSet, VendorViewSet
from escalations.api import EscalationViewSet, PolicyViewSet
from metrics.api import (
    CreditLedgerViewSet,
    CreditViewSet,
    ReadingViewSet,
    StatusViewSet,
    SubmissionViewSet,
    TrendViewSet,
)
from reviews import api as review_routes
from reviews import api_actions as action_routes
from reviews import api_health as health_routes
from slagov.api_members import InvitationViewSet, MemberViewSet

router = SimpleRouter()
router.register("vendors", VendorViewSet, basename="vendor")
router.register("contracts", ContractViewSet, basename="contract")
router.register("slas", ServiceLevelViewSet, basename="sla")
router.register("readings", ReadingViewSet, basename="reading")
router.register("submissions", SubmissionViewSet, basename="submission")
router.register("statuses", StatusViewSet, basename="status")
router.register("trends", TrendViewSet, basename="trend")
router.register("credits", CreditViewSet, basename="credit")
router.register("credit-ledger", CreditLedgerViewSet, basename="credit-ledger")
router.register("escalations", EscalationViewSet, basename="escalation")
router.register("escalation-policies", PolicyViewSet, basename="policy")
router.register("members", MemberViewSet, basename="member")
router.register("invitations", InvitationViewSet, basename="invitation")
for prefix, viewset, basename in [
    *review_routes.ROUTES,
    *action_routes.ROUTES,
    *health_routes.ROUTES,
]:
    router.register(prefix, viewset, basename=basename)
