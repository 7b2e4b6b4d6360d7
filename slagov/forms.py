"""Forms of the members pages: an invitation, a membership, a member's own preferences."""

from __future__ import annotations

from django import forms

from contracts.models import Vendor
from slagov.models import Membership

Role = Membership.Role


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254, help_text="Where the invitation goes.")
    role = forms.ChoiceField(choices=Role.choices)
    vendor = forms.ModelChoiceField(
        queryset=Vendor.objects.none(), required=False,
        help_text="For a vendor user: the vendor whose data they see.",
    )  # fmt: skip

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].initial = Role.ACCOUNT_MANAGER  # never admin by a slip
        self.fields["vendor"].queryset = Vendor.objects.order_by("name")
        if not tenant.is_admin:  # a vendor lead: colleagues of their vendor only
            self.fields["role"].choices = [(Role.VENDOR, Role.VENDOR.label)]
            self.fields["vendor"].queryset = Vendor.objects.filter(pk=tenant.vendor_id)
            self.fields["vendor"].initial = tenant.vendor_id


class MemberForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    vendor = forms.ModelChoiceField(
        queryset=Vendor.objects.none(), required=False,
        help_text="For a vendor user: the vendor whose data they see.",
    )  # fmt: skip
    vendor_lead = forms.BooleanField(
        required=False, label="Vendor lead: may invite colleagues of the same vendor"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vendor"].queryset = Vendor.objects.order_by("name")


class HandoverForm(forms.Form):
    to = forms.ModelChoiceField(queryset=Membership.objects.none(), label="Give them to")

    def __init__(self, *args, membership: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = (
            Membership.objects.filter(organization_id=membership.organization_id, is_active=True)
            .exclude(pk=membership.pk)
            .select_related("user", "vendor")
            .order_by("user__first_name", "user__username")
        )
        self.fields["to"].label_from_instance = lambda m: (
            f"{m.user.get_full_name() or m.user.username} — {m.get_role_display()}"
            + (f" ({m.vendor.name})" if m.vendor else "")
        )


class PreferencesForm(forms.ModelForm):
    """A member's own settings; the monthly report is offered to the customer side only."""

    class Meta:
        model = Membership
        fields = ["escalation_delivery", "monthly_report", "title"]
        widgets = {"escalation_delivery": forms.RadioSelect}
        labels = {
            "escalation_delivery": "Early warnings and level 1 escalations",
            "monthly_report": "Send me the monthly report by e-mail",
        }
        help_texts = {
            "monthly_report": "On the 1st of each month: what needs attention, money at risk, "
            "outcomes and credits of the month before.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.is_vendor:
            del self.fields["monthly_report"]
