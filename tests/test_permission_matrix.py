"""Permission matrix: every URL × every kind of user → the status they must get.

To cover a new URL, add a Row to ROWS (a completeness test fails until every named URL has one).
A Row names the URL, how to build its arguments and request data from the `World`, and the expected
outcome per user; helpers (staff_only, citizen_only, everyone) fill in the usual patterns, and
`expect={...}` overrides single users. Outcomes are a status code, or LOGIN / EID for a redirect to
the staff login or the citizen e-ID login.

Users (WHO): anonymous; citizen (owns the world's case); handlaggare (handler of the case, member of
unit A); enhetschef (unit A); administrator, superanvandare, systemforvaltare, loggranskare (no
unit); other_unit (a handläggare in unit B only). Objects of another unit or another citizen must
answer 404 (or 403 before any lookup) — never 200.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts import roles
from audit.models import LogReview
from tests import factories
from tests.conftest import login

LOGIN = "login"  # 302 to the staff login page
EID = "eid"  # 302 to the citizen login page
REDIRECT = "redirect"  # any 302 elsewhere

WHO = (
    "anonymous",
    "citizen",
    "handlaggare",
    "enhetschef",
    "administrator",
    "superanvandare",
    "systemforvaltare",
    "loggranskare",
    "other_unit",
)
STAFF = WHO[2:]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _png(name: str, uploaded_by):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from mailboxes.attachments import attachments_store, validate_upload

    upload = SimpleUploadedFile(name, PNG, content_type="image/png")
    [attachment] = attachments_store([(upload, validate_upload(upload))], uploaded_by=uploaded_by)
    return attachment


def _citizen_writes(case, body: str, attachment):
    from absence.routing import route_message
    from eservices.services import citizen_message_send

    message = citizen_message_send(
        case=case, citizen_user=case.citizen.user, body=body, attachments=[attachment]
    )
    route_message(message_id=message.pk)
    return message


@dataclass
class World:
    """One organisation, built per test through the real services and routing:
    - `case`: handled by handler_a1 in unit A; the citizen's message (with `case_attachment`) is in
      handler_a1's personal mailbox;
    - `group_case`: unassigned, in unit A; the citizen's message (with `group_attachment`) is in unit
      A's group mailbox;
    - `internal`: an internal thread from handler_a2 to handler_a1;
    - `review`: a log review by the log reviewer."""

    org: factories.Organisation
    case: Any
    group_case: Any
    case_attachment: Any
    group_attachment: Any
    internal: Any
    other_citizen: Any
    review: LogReview

    @classmethod
    def build(cls) -> World:
        from absence.routing import route_message
        from mailboxes.services import internal_thread_start, mailbox_personal_for

        org = factories.Organisation.build()
        case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
        case_attachment = _png("intyg.png", case.citizen.user)
        _citizen_writes(case, "Hej, här är intyget.", case_attachment)
        group_case = factories.case(
            eservice_obj=org.eservice_a, citizen_obj=factories.citizen("Olle", "Utan")
        )
        group_attachment = _png("kvitto.png", group_case.citizen.user)
        _citizen_writes(group_case, "Hej! Jag vill ansöka om stöd.", group_attachment)
        internal = internal_thread_start(
            sender=org.handler_a2,
            recipients=[mailbox_personal_for(org.handler_a1)],
            subject="Fråga om rutinen",
            body="Hur gör vi?",
        )
        route_message(message_id=internal.pk)
        today = timezone.localdate()
        review = LogReview.objects.create(
            reviewer=org.log_reviewer, kind=LogReview.Kind.SAMPLE, period_start=today, period_end=today
        )
        return cls(
            org=org,
            case=case,
            group_case=group_case,
            case_attachment=case_attachment,
            group_attachment=group_attachment,
            internal=internal,
            other_citizen=factories.citizen("Annan", "Medborgare"),
            review=review,
        )

    @property
    def group_mailbox(self):
        return self.org.unit_a.group_mailbox

    @property
    def handler_mailbox(self):
        from mailboxes.services import mailbox_personal_for

        return mailbox_personal_for(self.org.handler_a1)

    def user(self, who: str):
        o = self.org
        return {
            "anonymous": None,
            "citizen": self.case.citizen.user,
            "handlaggare": o.handler_a1,
            "enhetschef": o.manager_a,
            "administrator": o.admin,
            "superanvandare": o.superuser,
            "systemforvaltare": o.sysadmin,
            "loggranskare": o.log_reviewer,
            "other_unit": o.handler_b1,
        }[who]


Args = Callable[[World], tuple] | tuple
Data = Callable[[World], dict] | dict | None


@dataclass(frozen=True)
class Row:
    name: str
    expect: dict[str, int | str]
    method: str = "GET"
    args: Args = ()
    data: Data = None
    label: str = ""  # tells two rows of one URL apart in test ids

    @property
    def id(self) -> str:
        return f"{self.method} {self.name}{' ' + self.label if self.label else ''}"


def outcomes(default: int | str, **overrides: int | str) -> dict[str, int | str]:
    table = dict.fromkeys(WHO, default)
    table.update(overrides)
    return table


def staff_only(allowed: tuple[str, ...], ok: int | str = 200, refused: int = 403, **overrides) -> dict:
    """A staff page for some roles: anonymous to the login page, citizens and other staff 403."""
    table = outcomes(refused, anonymous=LOGIN, citizen=403)
    table.update(dict.fromkeys(allowed, ok))
    table.update(overrides)
    return table


def citizen_only(ok: int | str = 200, **overrides) -> dict:
    table = outcomes(403, anonymous=EID, citizen=ok)
    table.update(overrides)
    return table


def everyone(ok: int | str = 200, **overrides) -> dict:
    return outcomes(ok, **overrides)


ALL_STAFF = STAFF
MAILBOX_USERS = ("handlaggare", "enhetschef", "other_unit")  # accounts.use_mailboxes
REVIEWERS = ("loggranskare",)
MEMBERSHIP = ("superanvandare", "systemforvaltare")
ROLE_ADMINS = ("superanvandare", "systemforvaltare")


def _period(w: World) -> dict:
    today = timezone.localdate().isoformat()
    return {"date_from": today, "date_to": today}


ABSENCE_PLANNERS = ("handlaggare", "enhetschef", "other_unit")  # accounts.plan_own_absence
SICK_CALLS = ("administrator", "superanvandare", "systemforvaltare")  # accounts.take_sick_calls


def _absence_args(w: World) -> tuple:
    """handler_a1's planned absence (made inside the test's transaction, so rolled back with it)."""
    from datetime import timedelta

    from absence.models import Absence
    from absence.services import absence_create

    start = timezone.now() + timedelta(days=7)
    absence = absence_create(
        handler=w.org.handler_a1,
        actor=w.org.handler_a1,
        kind=Absence.Kind.PLANNED,
        starts_at=start,
        ends_at=start + timedelta(days=2),
        forward_to=w.group_mailbox,
    )
    return (absence.pk,)


RETENTION = ("systemforvaltare",)  # retention_rules.manage_retention and approve_retention


def _retention_run_args(w: World) -> tuple:
    """A run proposed by nobody (the nightly list), made inside the test's transaction."""
    from retention_rules.services import run_propose

    return (run_propose(proposer=None).pk,)


def _retention_rule_data(w: World) -> dict:
    return {
        "period": "12",
        "unit": "years",
        "decision": "Arkivmyndighetens beslut dnr KS 2024/117",
        "active_from": timezone.localdate().isoformat(),
    }


ROWS: list[Row] = [
    # --- public and session ---------------------------------------------------------------------
    Row("set_language", everyone(302), method="POST", data={"language": "sv", "next": "/tillganglighet/"}),
    Row("healthz", everyone(200)),
    # No worker or beat runs here; what matters is that no login is asked for.
    Row("healthz_worker", everyone(503)),
    Row("healthz_beat", everyone(503)),
    # Only with `Authorization: Bearer <METRICS_TOKEN>` (unset here); a session is no key.
    Row("metrics", everyone(404)),
    Row("accessibility", everyone(200)),
    Row("accounts:keepalive", everyone(204, anonymous=401), method="POST"),
    # --- staff login and landing ------------------------------------------------------------------
    # Who works in mailboxes lands in the workspace on their own mailbox; the others on the start page.
    Row("accounts:home", staff_only(ALL_STAFF, **dict.fromkeys(MAILBOX_USERS, REDIRECT))),
    Row("accounts:login", outcomes(REDIRECT, anonymous=200, citizen=403)),
    Row("accounts:logout", outcomes(REDIRECT, citizen=403), method="POST"),
    # Second factor is off in tests (STAFF_OTP_ENABLED): nothing to set up or verify.
    Row("accounts:otp_setup", staff_only(ALL_STAFF, ok=404, refused=404)),
    Row("accounts:otp_verify", staff_only(ALL_STAFF, ok=404, refused=404)),
    Row("accounts:otp_enrol", staff_only(ALL_STAFF, ok=404, refused=404), args=("not-a-link",)),
    # --- citizen portal -----------------------------------------------------------------------------
    Row("eservices:login", outcomes(200, citizen=REDIRECT)),
    Row("eservices:logout", citizen_only(REDIRECT, anonymous=REDIRECT), method="POST"),
    Row("eservices:portal", citizen_only()),
    Row("audit_citizen:extract", citizen_only()),
    Row("eservices:case", citizen_only(), args=lambda w: (w.case.pk,)),
    Row("eservices:case", citizen_only(ok=404), args=lambda w: (w.group_case.pk,), label="another citizen's"),
    Row("eservices:attachment", citizen_only(), args=lambda w: (w.case_attachment.pk,)),
    Row(
        "eservices:attachment",
        citizen_only(ok=404),
        args=lambda w: (w.group_attachment.pk,),
        label="another citizen's",
    ),
    Row("eservices:conversation_choose", citizen_only()),
    Row("eservices:conversation_start", citizen_only(ok=404), args=lambda w: (w.org.eservice_a.slug,)),
    Row("eservices:settings", citizen_only()),
    # e-ID through OIDC is not configured in tests.
    Row("eservices:oidc_authentication_init", outcomes(403, anonymous=404, citizen=404)),
    Row("eservices:oidc_callback", outcomes(403, anonymous=404, citizen=404)),
    # --- case assignment (accounts.assign_cases; an enhetschef only for their own units) ------------
    Row("eservices:staff_cases", staff_only(("enhetschef", "administrator", "systemforvaltare"))),
    Row(
        "eservices:staff_case_assign",
        staff_only(("enhetschef", "administrator", "systemforvaltare")),
        args=lambda w: (w.case.pk,),
    ),
    # --- staff mailboxes (accounts.use_mailboxes; a mailbox or thread one may not open is 404) -------
    Row("mailboxes:index", staff_only(MAILBOX_USERS)),
    Row("mailboxes:unread", staff_only(MAILBOX_USERS)),
    Row("mailboxes:compose", staff_only(MAILBOX_USERS)),
    Row("mailboxes:away_tip", staff_only(MAILBOX_USERS)),
    Row("mailboxes:search", staff_only(MAILBOX_USERS), data={"q": "ansöka"}),
    Row("mailboxes:mailbox", staff_only(MAILBOX_USERS, other_unit=404), args=lambda w: (w.group_mailbox.pk,)),
    Row(
        "mailboxes:mailbox",
        staff_only(MAILBOX_USERS, enhetschef=404, other_unit=404),
        args=lambda w: (w.handler_mailbox.pk,),
        label="a colleague's personal",
    ),
    Row(
        "mailboxes:thread",
        staff_only(MAILBOX_USERS, other_unit=404),
        args=lambda w: (w.group_mailbox.pk, w.group_case.thread_id),
    ),
    Row(
        "mailboxes:thread",
        staff_only(MAILBOX_USERS, enhetschef=404, other_unit=404),
        args=lambda w: (w.handler_mailbox.pk, w.case.thread_id),
        label="in a colleague's personal",
    ),
    Row(
        "mailboxes:thread",
        staff_only(MAILBOX_USERS, ok=404),
        args=lambda w: (w.group_mailbox.pk, w.case.thread_id),
        label="not in that mailbox",
    ),
    Row(
        "mailboxes:reply",
        staff_only(MAILBOX_USERS, handlaggare=302, enhetschef=404, other_unit=404),
        method="POST",
        args=lambda w: (w.handler_mailbox.pk, w.internal.thread_id),
        data={"reply-body": "Tack, då gör vi så."},
    ),
    Row(
        "mailboxes:send_citizen",
        staff_only(MAILBOX_USERS, ok=403, other_unit=404),
        method="POST",
        args=lambda w: (w.group_mailbox.pk, w.group_case.thread_id),
        data={"citizen-body": "Hej!"},
        label="nobody's case",
    ),
    Row(
        "mailboxes:send_citizen",
        staff_only(MAILBOX_USERS, handlaggare=302, enhetschef=404, other_unit=404),
        method="POST",
        args=lambda w: (w.handler_mailbox.pk, w.case.thread_id),
        data={"citizen-body": "Hej! Tack för intyget."},
        label="as handler",
    ),
    Row(
        "mailboxes:note",
        staff_only(MAILBOX_USERS, ok=302, other_unit=404),
        method="POST",
        args=lambda w: (w.group_mailbox.pk, w.group_case.thread_id),
        data={"note-body": "Ringde upp, inväntar underlag."},
    ),
    *[
        Row(
            f"mailboxes:{name}",
            staff_only(MAILBOX_USERS, ok=302, other_unit=404),
            method="POST",
            args=lambda w: (w.group_mailbox.pk, w.group_case.thread_id),
        )
        for name in ("take", "release", "handled", "reopen", "mark_unread")
    ],
    *[
        Row(
            "mailboxes:bulk",
            staff_only(MAILBOX_USERS, ok=302, other_unit=404),
            method="POST",
            args=lambda w: (w.group_mailbox.pk,),
            data=lambda w, action=action: {"atgard": action, "trad": [w.group_case.thread_id]},
            label=action,
        )
        for action in ("take", "handled")
    ],
    Row(
        "mailboxes:bulk",
        staff_only(MAILBOX_USERS, ok=404),
        method="POST",
        args=lambda w: (w.handler_mailbox.pk,),
        data=lambda w: {"atgard": "handled", "trad": [w.case.thread_id]},
        label="in a personal mailbox",
    ),
    Row(
        "mailboxes:mark_unread",
        staff_only(MAILBOX_USERS, handlaggare=302, enhetschef=404, other_unit=404),
        method="POST",
        args=lambda w: (w.handler_mailbox.pk, w.case.thread_id),
        label="in a colleague's personal",
    ),
    Row(
        "mailboxes:forward",
        staff_only(MAILBOX_USERS, other_unit=404),
        args=lambda w: (w.group_mailbox.pk, w.group_case.thread_id),
    ),
    Row(
        "mailboxes:print",
        staff_only(MAILBOX_USERS, other_unit=404),
        args=lambda w: (w.group_mailbox.pk, w.group_case.thread_id),
    ),
    Row(
        "mailboxes:print",
        staff_only(MAILBOX_USERS, enhetschef=404, other_unit=404),
        args=lambda w: (w.handler_mailbox.pk, w.case.thread_id),
        label="in a colleague's personal",
    ),
    Row(
        "mailboxes:attachment",
        staff_only(MAILBOX_USERS, other_unit=404),
        args=lambda w: (w.group_mailbox.pk, w.group_attachment.pk),
    ),
    Row(
        "mailboxes:attachment",
        staff_only(MAILBOX_USERS, ok=404),
        args=lambda w: (w.group_mailbox.pk, w.case_attachment.pk),
        label="not in that mailbox",
    ),
    Row(
        "mailboxes:case_thread",
        staff_only(MAILBOX_USERS, ok=404, handlaggare=200),
        args=lambda w: (w.case.pk,),
    ),
    Row(
        "mailboxes:case_thread",
        staff_only(MAILBOX_USERS, ok=404),
        args=lambda w: (w.group_case.pk,),
        label="not one's case",
    ),
    Row(
        "mailboxes:case_send_citizen",
        staff_only(MAILBOX_USERS, ok=404, handlaggare=302),
        method="POST",
        args=lambda w: (w.case.pk,),
        data={"citizen-body": "Hej!"},
    ),
    Row(
        "mailboxes:case_note",
        staff_only(MAILBOX_USERS, ok=404, handlaggare=302),
        method="POST",
        args=lambda w: (w.case.pk,),
        data={"note-body": "Anteckning"},
    ),
    Row(
        "mailboxes:case_attachment",
        staff_only(MAILBOX_USERS, ok=404, handlaggare=200),
        args=lambda w: (w.case.pk, w.case_attachment.pk),
    ),
    Row(
        "mailboxes:case_attachment",
        staff_only(MAILBOX_USERS, ok=404),
        args=lambda w: (w.case.pk, w.group_attachment.pk),
        label="of another case",
    ),
    # --- integrations: the case system's API (bearer tokens only: a browser session gets nothing),
    # staff SSO (off in tests), export of a thread to the case file (like reading the thread) -------
    Row("integrations:api_case", outcomes(401, citizen=403), args=("EXT-1",)),
    Row("integrations:api_case_close", outcomes(401, citizen=403), method="POST", args=("EXT-1",)),
    Row("integrations:api_case_thread", outcomes(401, citizen=403), args=("EXT-1",)),
    Row(
        "integrations:api_case_file_document",
        outcomes(401, citizen=403),
        args=("5d5f3c0e-0000-4000-8000-000000000001",),
    ),
    Row(
        "integrations:api_case_file_receipt",
        outcomes(401, citizen=403),
        method="POST",
        args=("5d5f3c0e-0000-4000-8000-000000000001",),
    ),
    Row("integrations:api_schema", outcomes(200, citizen=403)),
    Row("integrations:api_docs", outcomes(200, citizen=403)),
    Row("integrations:sso_login", outcomes(404, citizen=403)),
    Row("integrations:sso_callback", outcomes(404, citizen=403)),
    Row("integrations:sso_failed", outcomes(403)),
    Row(
        "eservices:staff_case_protection",
        staff_only(("administrator", "systemforvaltare")),
        args=lambda w: (w.case.pk,),
    ),
    Row(
        "integrations:export_thread",
        staff_only(MAILBOX_USERS, enhetschef=404, other_unit=404),
        args=lambda w: (w.case.thread_id,),
        label="as handler",
    ),
    Row(
        "integrations:export_thread",
        staff_only(MAILBOX_USERS, other_unit=404),
        args=lambda w: (w.group_case.thread_id,),
        label="via the group mailbox",
    ),
    # The PDF to the computer: the unit manager only (accounts.download_case_file_pdf), and only of
    # a thread they may read; every other role 403 before the thread is looked up.
    Row(
        "integrations:export_thread_download",
        staff_only(("enhetschef",), ok=404),
        method="POST",
        args=lambda w: (w.case.thread_id,),
        data=lambda w: {"messages": list(w.case.thread.messages.values_list("pk", flat=True))},
        label="as handler",
    ),
    Row(
        "integrations:export_thread_download",
        staff_only(("enhetschef",)),
        method="POST",
        args=lambda w: (w.group_case.thread_id,),
        data=lambda w: {"messages": list(w.group_case.thread.messages.values_list("pk", flat=True))},
        label="via the group mailbox",
    ),
    # --- log review (accounts.review_access_log) ----------------------------------------------------
    Row("audit:search", staff_only(REVIEWERS)),
    Row(
        "audit:search",
        staff_only(REVIEWERS),
        args=(),
        data=lambda w: {"citizen": w.case.citizen.user_id},
        label="by citizen",
    ),
    Row(
        "audit:search",
        staff_only(REVIEWERS, ok=302),
        method="POST",
        data=lambda w: {"personnummer": w.case.citizen.personnummer},
    ),
    Row("audit:export", staff_only(REVIEWERS)),
    Row("audit:checks", staff_only(REVIEWERS)),
    Row(
        "audit:checks", staff_only(REVIEWERS), data=lambda w: {"check": "outside", **_period(w)}, label="run"
    ),
    Row("audit:checks_export", staff_only(REVIEWERS), data=lambda w: {"check": "bulk", **_period(w)}),
    Row("audit:sample", staff_only(REVIEWERS)),
    Row(
        "audit:sample", staff_only(REVIEWERS, ok=302), method="POST", data=lambda w: {**_period(w), "size": 5}
    ),
    Row("audit:reviews", staff_only(REVIEWERS)),
    Row("audit:review", staff_only(REVIEWERS), args=lambda w: (w.review.pk,)),
    Row("audit:review", staff_only(REVIEWERS, ok=404), args=(999999,), label="missing"),
    Row("audit:review_record", staff_only(REVIEWERS, ok=400), method="POST", data={}),
    Row("audit:events", staff_only(REVIEWERS)),
    # --- membership and roles (accounts.manage_membership / manage_roles) ---------------------------
    Row("administration:units", staff_only(MEMBERSHIP)),
    Row("administration:units_export", staff_only(MEMBERSHIP)),
    Row("administration:unit", staff_only(MEMBERSHIP), args=lambda w: (w.org.unit_b.pk,)),
    Row("administration:unit", staff_only(MEMBERSHIP, ok=404), args=(999999,), label="missing"),
    Row("administration:unit_export", staff_only(MEMBERSHIP), args=lambda w: (w.org.unit_a.pk,)),
    Row(
        "administration:member_add",
        staff_only(MEMBERSHIP, ok=302),
        method="POST",
        args=lambda w: (w.org.unit_b.pk,),
        data=lambda w: {"user": w.org.handler_a2.pk},
    ),
    Row(
        "administration:member_add",
        staff_only(MEMBERSHIP, ok=400),
        method="POST",
        args=lambda w: (w.org.unit_b.pk,),
        data=lambda w: {"user": w.case.citizen.user_id},
        label="citizen",
    ),
    Row(
        "administration:member_remove",
        staff_only(MEMBERSHIP),
        args=lambda w: (w.org.unit_a.pk, w.org.handler_a2.pk),
    ),
    Row(
        "administration:member_remove",
        staff_only(MEMBERSHIP, ok=302),
        method="POST",
        args=lambda w: (w.org.unit_a.pk, w.org.handler_a2.pk),
    ),
    Row(
        "administration:member_remove",
        staff_only(MEMBERSHIP, ok=404),
        method="POST",
        args=lambda w: (w.org.unit_b.pk, w.org.handler_a2.pk),
        label="not a member",
    ),
    Row(
        "administration:access_reset",
        staff_only(MEMBERSHIP, ok=302),
        method="POST",
        args=lambda w: (w.org.unit_a.pk,),
    ),
    Row("administration:staff", staff_only(ROLE_ADMINS)),
    Row("administration:staff_member", staff_only(ROLE_ADMINS), args=lambda w: (w.org.handler_b1.pk,)),
    Row(
        "administration:staff_member",
        staff_only(ROLE_ADMINS, ok=302),
        method="POST",
        args=lambda w: (w.org.handler_b1.pk,),
        data={"roles": [roles.HANDLAGGARE]},
    ),
    Row(
        "administration:staff_member",
        staff_only(ROLE_ADMINS, ok=404),
        args=lambda w: (w.case.citizen.user_id,),
        label="a citizen",
    ),
    Row(
        "administration:enrolment_link",
        staff_only(ROLE_ADMINS),
        method="POST",
        args=lambda w: (w.org.handler_b1.pk,),
    ),
    Row(
        "administration:enrolment_link",
        staff_only(ROLE_ADMINS, ok=404),
        method="POST",
        args=lambda w: (w.case.citizen.user_id,),
        label="a citizen",
    ),
    # --- retention (retention_rules.manage_retention / approve_retention: Systemförvaltare) --------
    Row("administration:retention_rules", staff_only(RETENTION)),
    Row("administration:retention_rule_edit", staff_only(RETENTION), args=("citizen_thread",)),
    Row(
        "administration:retention_rule_edit",
        staff_only(RETENTION, ok=404),
        args=("okand",),
        label="unknown kind",
    ),
    Row(
        "administration:retention_rule_edit",
        staff_only(RETENTION, ok=302),
        method="POST",
        args=("internal_thread",),
        data=_retention_rule_data,
    ),
    Row("administration:retention_runs", staff_only(RETENTION)),
    Row("administration:retention_run_propose", staff_only(RETENTION, ok=302), method="POST"),
    Row("administration:retention_run", staff_only(RETENTION), args=_retention_run_args),
    Row("administration:retention_run", staff_only(RETENTION, ok=404), args=(999999,), label="missing"),
    Row(
        "administration:retention_run_approve",
        staff_only(RETENTION, ok=302),
        method="POST",
        args=_retention_run_args,
    ),
    Row(
        "administration:retention_run_cancel",
        staff_only(RETENTION, ok=302),
        method="POST",
        args=_retention_run_args,
    ),
    # --- absence (added with feat/absence): own absence (plan_own_absence), sick calls -----------
    # (take_sick_calls), unit overview (view_unit_overview). Someone else's absence on the own pages
    # is 404; a missing role permission is 403 before any lookup.
    Row("absence:mine", staff_only(ABSENCE_PLANNERS)),
    Row("absence:mine", staff_only(ABSENCE_PLANNERS), method="POST", data={"action": "preview"}),
    Row(
        "absence:mine_edit", staff_only(ABSENCE_PLANNERS, enhetschef=404, other_unit=404), args=_absence_args
    ),
    Row(
        "absence:mine_detail",
        staff_only(ABSENCE_PLANNERS, enhetschef=404, other_unit=404),
        args=_absence_args,
    ),
    Row(
        "absence:mine_end",
        staff_only(ABSENCE_PLANNERS, ok=302, enhetschef=404, other_unit=404),
        method="POST",
        args=_absence_args,
    ),
    Row("absence:sick_call", staff_only(SICK_CALLS)),
    Row("absence:sick_call", staff_only(SICK_CALLS), data=lambda w: {"q": "Anna"}, label="search"),
    Row(
        "absence:sick_call",
        staff_only(SICK_CALLS, ok=302),
        method="POST",
        data=lambda w: {
            "handler": w.org.handler_a2.pk,
            "forward_to": w.group_mailbox.pk,
            "reason": "Ringde in sjuk",
        },
    ),
    Row("absence:sick_call_end", staff_only(SICK_CALLS, ok=302), method="POST", args=_absence_args),
    Row(
        "absence:sick_call_end",
        staff_only(SICK_CALLS, ok=404),
        method="POST",
        args=(999999,),
        label="missing",
    ),
    Row("absence:unit_overview", staff_only(("enhetschef",))),
    Row("absence:unit_overview_refresh", staff_only(("enhetschef",))),
]


def _saved_reply(w: World):
    from replies.models import SavedReply

    saved, _created = SavedReply.objects.get_or_create(
        unit=w.org.unit_a, title="Bekräftelse", defaults={"body": "Hej! /{handläggare}, {enhet}"}
    )
    return saved


MANAGERS = ("enhetschef",)  # accounts.view_unit_overview, for their own units
ROWS += [
    # --- replies: drafts and saved replies in the thread page's forms (the case team in a citizen
    # thread), the unit manager's saved replies, the reminder setting -------------------------------
    Row(
        "replies:draft",
        staff_only(MAILBOX_USERS, enhetschef=404, other_unit=404),
        method="POST",
        args=lambda w: (w.handler_mailbox.pk, w.case.thread_id),
        data={"citizen-body": "Utkast"},
    ),
    Row(
        "replies:draft",
        staff_only(MAILBOX_USERS, ok=403, other_unit=404),
        method="POST",
        args=lambda w: (w.group_mailbox.pk, w.group_case.thread_id),
        data={"citizen-body": "Utkast"},
        label="nobody's case",
    ),
    Row(
        "replies:case_draft",
        staff_only(MAILBOX_USERS, ok=404, handlaggare=200),
        method="POST",
        args=lambda w: (w.case.pk,),
        data={"citizen-body": "Utkast"},
    ),
    Row(
        "replies:insert",
        staff_only(MAILBOX_USERS, handlaggare=302, enhetschef=404, other_unit=404),
        method="POST",
        args=lambda w: (w.handler_mailbox.pk, w.case.thread_id),
        data=lambda w: {"saved_reply": _saved_reply(w).pk},
    ),
    Row(
        "replies:case_insert",
        staff_only(MAILBOX_USERS, ok=404, handlaggare=302),
        method="POST",
        args=lambda w: (w.case.pk,),
        data=lambda w: {"saved_reply": _saved_reply(w).pk},
    ),
    Row("replies:saved_list", staff_only(MANAGERS)),
    Row("replies:saved_create", staff_only(MANAGERS)),
    Row(
        "replies:saved_create",
        staff_only(MANAGERS, ok=302),
        method="POST",
        data=lambda w: {"unit": w.org.unit_a.pk, "title": "Ny", "body": "Text"},
    ),
    Row("replies:saved_edit", staff_only(MANAGERS), args=lambda w: (_saved_reply(w).pk,)),
    Row("replies:saved_edit", staff_only(MANAGERS, ok=404), args=(999999,), label="missing"),
    Row("replies:saved_delete", staff_only(MANAGERS), args=lambda w: (_saved_reply(w).pk,)),
    Row(
        "replies:saved_delete",
        staff_only(MANAGERS, ok=302),
        method="POST",
        args=lambda w: (_saved_reply(w).pk,),
    ),
    Row("replies:notice_settings", staff_only(MAILBOX_USERS)),
]

# Named URLs that are not application pages.
NOT_IN_MATRIX = {"django-admin"}


def _resolve(value, world: World):
    return value(world) if callable(value) else value


def _mismatch(response, expected: int | str) -> str | None:
    got = response.status_code
    location = response.get("Location", "")
    if expected == LOGIN:
        ok = got == 302 and location.startswith(reverse("accounts:login"))
    elif expected == EID:
        ok = got == 302 and location.startswith(reverse("eservices:login"))
    elif expected == REDIRECT:
        ok = got == 302
    else:
        ok = got == expected
    return None if ok else f"expected {expected}, got {got} {location}".strip()


def _cacheable(response, row: Row, user) -> str | None:
    """A page a signed-in user sees (and anonymous users do not see alike) may hold citizen data: no
    browser or proxy cache may keep it."""
    if user is None or response.status_code != 200 or row.expect["anonymous"] == 200:
        return None
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    missing = {"no-store", "private"} - directives
    return f"Cache-Control lacks {sorted(missing)}" if missing else None


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction that is rolled back at the end: every test
    below runs in savepoints nested in it, so nothing it does is seen by another test or module."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield World.build()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.mark.django_db
@pytest.mark.parametrize("row", [pytest.param(row, id=row.id) for row in ROWS])
def test_permission_matrix(client, world: World, row: Row):
    """Each kind of user in turn, each inside a savepoint that is rolled back, so a POST one user may
    make does not change what the next one finds."""
    url = reverse(row.name, args=_resolve(row.args, world))
    data = _resolve(row.data, world) or {}
    problems = []
    for who in WHO:
        with transaction.atomic():
            client.logout()
            user = world.user(who)
            if user is not None:
                login(client, user)
            response = client.post(url, data) if row.method == "POST" else client.get(url, data)
            problem = _mismatch(response, row.expect[who]) or _cacheable(response, row, user)
            if problem:
                problems.append(f"{who}: {problem}")
            transaction.set_rollback(True)
    assert not problems, f"{row.id} ({url}):\n  " + "\n  ".join(problems)


def _named_urls(resolver=None, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                names.add("django-admin")
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _named_urls(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}{pattern.name}")
    return names


def test_every_named_url_has_a_row_in_the_matrix():
    covered = {row.name for row in ROWS} | NOT_IN_MATRIX
    missing = sorted(_named_urls() - covered)
    assert not missing, f"add Rows to tests/test_permission_matrix.py for: {missing}"


def test_every_row_states_an_outcome_for_every_kind_of_user():
    for row in ROWS:
        assert set(row.expect) == set(WHO), row.id
