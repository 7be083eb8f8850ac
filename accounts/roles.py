"""The roles of the routine, as Django groups, and the permissions each one carries.

The groups are created by a data migration (accounts/migrations/0002_roles.py) from ROLE_PERMISSIONS;
code checks permissions (`user.has_perm("accounts.take_sick_calls")`), never group names, except to
show a user their role.
"""

from django.utils.translation import gettext_lazy as _

HANDLAGGARE = "Handläggare"
ENHETSCHEF = "Enhetschef"
ADMINISTRATOR = "Administratör med särskild behörighet"
SUPERANVANDARE = "Superanvändare"
SYSTEMFORVALTARE = "Systemförvaltare"
LOGGRANSKARE = "Loggranskare"

ALL_ROLES = (HANDLAGGARE, ENHETSCHEF, ADMINISTRATOR, SUPERANVANDARE, SYSTEMFORVALTARE, LOGGRANSKARE)

ROLE_LABELS = {
    HANDLAGGARE: _("Case worker"),
    ENHETSCHEF: _("Unit manager"),
    ADMINISTRATOR: _("Administrator with special authority"),
    SUPERANVANDARE: _("Superuser"),
    SYSTEMFORVALTARE: _("System administrator"),
    LOGGRANSKARE: _("Log reviewer"),
}

# codename -> description; declared on accounts.User.Meta.permissions.
PERMISSIONS = {
    "use_mailboxes": "Can read and write in staff mailboxes",
    "plan_own_absence": "Can plan own absence",
    "take_sick_calls": "Can switch forwarding on and off for other handlers",
    "manage_membership": "Can manage units and group-mailbox membership",
    "manage_roles": "Can give and take roles",
    "assign_cases": "Can assign handlers and co-handlers to cases",
    "view_unit_overview": "Can see the unit overview",
    "review_access_log": "Can review the access log",
    "download_case_file_pdf": "Can download a citizen thread's case-file PDF to the computer",
}

ROLE_PERMISSIONS = {
    HANDLAGGARE: ["use_mailboxes", "plan_own_absence"],
    # The case-file PDF goes to the case system (integrations.casefile); a copy on a workstation is
    # for the unit manager only, who decides on handing out documents and covers a case-system outage.
    ENHETSCHEF: [
        "use_mailboxes",
        "plan_own_absence",
        "assign_cases",
        "view_unit_overview",
        "download_case_file_pdf",
    ],
    ADMINISTRATOR: ["take_sick_calls", "assign_cases"],
    SUPERANVANDARE: ["take_sick_calls", "manage_membership", "manage_roles"],
    SYSTEMFORVALTARE: ["take_sick_calls", "manage_membership", "manage_roles", "assign_cases"],
    LOGGRANSKARE: ["review_access_log"],
}


GROUP_NAMES_ATTR = "_lifemsg_group_names"


def user_group_names(user) -> list[str]:
    """The names of the user's groups, read once per request: kept on the user object, which lives as
    long as the request (the page header and the access log's snapshot both need them)."""
    names = known_group_names(user)
    if names is None:
        names = list(user.groups.values_list("name", flat=True))
        remember_group_names(user, names)
    return names


def known_group_names(user) -> list[str] | None:
    """The names of the user's groups if this request has read them already, else None (no query)."""
    return getattr(user, GROUP_NAMES_ATTR, None)


def remember_group_names(user, names: list[str]) -> None:
    setattr(user, GROUP_NAMES_ATTR, list(names))


GROUP_IDS_ATTR = "_lifemsg_group_ids"


def known_group_ids(user) -> list[int] | None:
    """The ids of the user's groups if this request has read them already (the permission check of
    every staff page does: accounts.backends), else None. Group-mailbox access follows these groups
    (mailboxes.permissions), so a list page need not look them up again in SQL."""
    return getattr(user, GROUP_IDS_ATTR, None)


def remember_group_ids(user, ids: list[int]) -> None:
    setattr(user, GROUP_IDS_ATTR, sorted(ids))
