"""
What every e-mail says around its message: whose slagov sent it (the header)
and, for someone without a login, how to get in (the footer). The templates
extend `email/base.html` and end their text part with `email/_footer.txt`.
"""

from __future__ import annotations


def brand(organization, *, owner=None, login: bool | None = True) -> dict:
    """
    The header and footer context. `login`: the recipient has a slagov login
    (True), has none (False: a vendor contact), or the message goes to several
    people of either kind (None).
    """
    access = ""
    if login is not True:
        whom = ""
        if owner is not None and owner.email:
            name = owner.get_full_name() or owner.get_username()
            whom = f" Ask {name} ({owner.email}) for one."
        access = (
            "You have no slagov login: the links ask you to sign in." + whom
            if login is False
            else "The links need a slagov login." + (whom or " Ask your account manager.")
        )
    return {"brand_org": organization.name, "access": access}
