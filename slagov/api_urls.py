from rest_framework.routers import SimpleRouter

from contracts.api import ContractViewSet, ServiceLevelViewSet, VendorViewSet
from metrics.api import ReadingViewSet, SubmissionViewSet

router = SimpleRouter()
router.register("vendors", VendorViewSet, basename="vendor")
router.register("contracts", ContractViewSet, basename="contract")
router.register("slas", ServiceLevelViewSet, basename="sla")
router.register("readings", ReadingViewSet, basename="reading")
router.register("submissions", SubmissionViewSet, basename="submission")
