"""Bulk import for go-live: units, staff, memberships and open cases from CSV files.

All files are checked first and every problem is reported with its file and line; then everything is
written in one transaction through the same services the UI uses, or nothing is (a dry run rolls the
transaction back, so it also catches what only the database can tell). Files are UTF-8 (a BOM is
fine), separated by commas or semicolons, with a header row; lists inside a cell are separated by |.

  units.csv        name, slug
  staff.csv        username, first_name, last_name, email, roles        (roles: Handläggare|Enhetschef)
  memberships.csv  username, unit                                       (unit: its slug)
  cases.csv        external_id, personnummer, first_name, last_name, eservice, unit, subject,
                   handler, co_handlers                                 (unit, handler optional)
                   and, optionally, protected_identity: ja/nej (yes/no, 1/0; empty leaves it as
                   it is): the citizen's protected identity, audited; with --actor, that user
                   must hold eservices.set_protected_identity
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import transaction
from django.utils.translation import gettext as _

from accounts import personnummer as pnr
from accounts import roles
from audit.services import audit_event_record
from eservices.models import Case, EService
from eservices.services import case_create, citizen_get_or_create, citizen_protected_identity_set
from mailboxes.models import Unit, UnitMembership
from mailboxes.services.units import mailbox_personal_for, membership_add, unit_create

from .models import EXTERNAL_ID_PATTERN

KINDS = ("units", "staff", "memberships", "cases")
COLUMNS = {
    "units": ["name", "slug"],
    "staff": ["username", "first_name", "last_name", "email", "roles"],
    "memberships": ["username", "unit"],
    "cases": [
        "external_id",
        "personnummer",
        "first_name",
        "last_name",
        "eservice",
        "unit",
        "subject",
        "handler",
        "co_handlers",
    ],
}
LIST_SEPARATOR = "|"
# The optional cases.csv column protected_identity: what each value means (lower case).
PROTECTED_VALUES = {"": None, "ja": True, "yes": True, "1": True, "true": True}
PROTECTED_VALUES |= {"nej": False, "no": False, "0": False, "false": False}
_EXTERNAL_ID = re.compile(rf"^{EXTERNAL_ID_PATTERN}$")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return _("%(file)s line %(line)s: %(message)s") % {
            "file": self.file,
            "line": self.line,
            "message": self.message,
        }


@dataclass
class Row:
    line: int
    values: dict[str, str]


@dataclass
class ImportReport:
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def read_csv(kind: str, label: str, text: str, report: ImportReport) -> list[Row]:
    """Rows of one file; header problems are reported on line 1."""
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS[kind] if c not in header]
    if missing:
        report.problems.append(
            Problem(label, 1, _("missing column(s): %(columns)s") % {"columns": ", ".join(missing)})
        )
        return []
    reader.fieldnames = header
    rows = []
    try:
        for raw in reader:
            values = {k: (v or "").strip() for k, v in raw.items() if k is not None}
            if any(values.values()):
                rows.append(Row(line=reader.line_num, values=values))
    except csv.Error as exc:
        report.problems.append(
            Problem(label, reader.line_num, _("unreadable CSV: %(error)s") % {"error": exc})
        )
    return rows


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(LIST_SEPARATOR) if item.strip()]


class GoLiveImport:
    def __init__(self, files: dict[str, tuple[str, str]]):
        """files: kind -> (label shown in problems, file content)."""
        self.files = files
        self.report = ImportReport()
        self.rows: dict[str, list[Row]] = {}
        self.User = get_user_model()
        self.role_names = {name.lower(): name for name in roles.ALL_ROLES}
        self.mailbox_roles = {r for r, perms in roles.ROLE_PERMISSIONS.items() if "use_mailboxes" in perms}

    def problem(self, kind: str, line: int, message: str) -> None:
        self.report.problems.append(Problem(self.files[kind][0], line, message))

    # --- checking -----------------------------------------------------------------------------

    def check(self) -> None:
        for kind in KINDS:
            if kind in self.files:
                label, text = self.files[kind]
                self.rows[kind] = read_csv(kind, label, text, self.report)
        self.new_units = self._check_units()
        self.new_staff = self._check_staff()
        self._check_memberships()
        self._check_cases()

    def _check_units(self) -> dict[str, str]:
        new: dict[str, str] = {}
        names: set[str] = set()
        for row in self.rows.get("units", []):
            name, slug = row.values["name"], row.values["slug"]
            if not name or len(name) > 120:
                self.problem("units", row.line, _("name: give a name of at most 120 characters"))
            try:
                validate_slug(slug)
                if len(slug) > 60:
                    raise ValidationError("too long")
            except ValidationError:
                self.problem("units", row.line, _("slug: use only letters, digits, - and _ (at most 60)"))
                continue
            if slug in new or name.lower() in names:
                self.problem("units", row.line, _("unit %(slug)s appears twice in the file") % {"slug": slug})
            elif Unit.objects.filter(slug=slug).exists() or Unit.objects.filter(name__iexact=name).exists():
                self.problem("units", row.line, _("unit %(slug)s already exists") % {"slug": slug})
            new[slug] = name
            names.add(name.lower())
        return new

    def _check_staff(self) -> dict[str, set[str]]:
        """username -> role names, for the staff rows."""
        new: dict[str, set[str]] = {}
        validator = UnicodeUsernameValidator()
        for row in self.rows.get("staff", []):
            v = row.values
            username = v["username"]
            try:
                validator(username)
                if not username or len(username) > 150:
                    raise ValidationError("length")
            except ValidationError:
                self.problem(
                    "staff", row.line, _("username: %(value)r is not a valid username") % {"value": username}
                )
                continue
            if username.lower() in {u.lower() for u in new}:
                self.problem(
                    "staff", row.line, _("user %(name)s appears twice in the file") % {"name": username}
                )
            elif self.User.objects.filter(username__iexact=username).exists():
                self.problem("staff", row.line, _("user %(name)s already exists") % {"name": username})
            if v["email"]:
                try:
                    validate_email(v["email"])
                except ValidationError:
                    self.problem(
                        "staff",
                        row.line,
                        _("email: %(value)r is not an e-mail address") % {"value": v["email"]},
                    )
            role_set = set()
            for role in _split(v["roles"]):
                if role.lower() not in self.role_names:
                    self.problem(
                        "staff",
                        row.line,
                        _("roles: unknown role %(role)r (roles are: %(roles)s)")
                        % {"role": role, "roles": ", ".join(roles.ALL_ROLES)},
                    )
                else:
                    role_set.add(self.role_names[role.lower()])
            new[username] = role_set
        return new

    def _unit_known(self, slug: str) -> bool:
        return slug in self.new_units or Unit.objects.filter(slug=slug).exists()

    def _staff_known(self, username: str) -> bool:
        return (
            username in self.new_staff
            or self.User.objects.filter(username=username, kind=self.User.Kind.STAFF, is_active=True).exists()
        )

    def _can_handle(self, username: str) -> bool:
        if username in self.new_staff:
            return bool(self.new_staff[username] & self.mailbox_roles)
        user = self.User.objects.filter(username=username, kind=self.User.Kind.STAFF, is_active=True).first()
        return user is not None and user.has_perm("accounts.use_mailboxes")

    def _check_memberships(self) -> None:
        seen: set[tuple[str, str]] = set()
        for row in self.rows.get("memberships", []):
            username, slug = row.values["username"], row.values["unit"]
            ok = True
            if not self._staff_known(username):
                self.problem("memberships", row.line, _("unknown staff member %(name)r") % {"name": username})
                ok = False
            if not self._unit_known(slug):
                self.problem("memberships", row.line, _("unknown unit %(slug)r") % {"slug": slug})
                ok = False
            if not ok:
                continue
            if (username, slug) in seen:
                self.problem("memberships", row.line, _("this membership appears twice in the file"))
            elif UnitMembership.objects.filter(user__username=username, unit__slug=slug).exists():
                self.problem(
                    "memberships",
                    row.line,
                    _("%(name)s is already a member of %(slug)s") % {"name": username, "slug": slug},
                )
            seen.add((username, slug))

    def _check_handler(self, line: int, column: str, username: str) -> None:
        if not self._staff_known(username):
            self.problem(
                "cases",
                line,
                _("%(column)s: unknown staff member %(name)r") % {"column": column, "name": username},
            )
        elif not self._can_handle(username):
            self.problem(
                "cases",
                line,
                _("%(column)s: %(name)s has no role that can use mailboxes")
                % {"column": column, "name": username},
            )

    def _check_cases(self) -> None:
        seen: set[str] = set()
        eservices = {e.slug for e in EService.objects.all()}
        for row in self.rows.get("cases", []):
            v, line = row.values, row.line
            external_id = v["external_id"]
            if not _EXTERNAL_ID.match(external_id):
                self.problem(
                    "cases",
                    line,
                    _("external_id: %(value)r is not a valid external case id") % {"value": external_id},
                )
            elif external_id in seen:
                self.problem("cases", line, _("case %(id)s appears twice in the file") % {"id": external_id})
            elif Case.objects.filter(external_id=external_id).exists():
                self.problem("cases", line, _("case %(id)s already exists") % {"id": external_id})
            seen.add(external_id)
            try:
                pnr.normalise(v["personnummer"])
            except ValidationError as exc:
                self.problem(
                    "cases",
                    line,
                    _("personnummer %(value)r: %(error)s")
                    % {"value": v["personnummer"], "error": " ".join(exc.messages)},
                )
            if v["eservice"] not in eservices:
                self.problem("cases", line, _("unknown e-service %(slug)r") % {"slug": v["eservice"]})
            if v["unit"] and not self._unit_known(v["unit"]):
                self.problem("cases", line, _("unknown unit %(slug)r") % {"slug": v["unit"]})
            if not v["subject"] or len(v["subject"]) > 200:
                self.problem("cases", line, _("subject: give a subject of at most 200 characters"))
            if v.get("protected_identity", "").lower() not in PROTECTED_VALUES:
                self.problem("cases", line, _("protected_identity: write ja or nej"))
            if v["handler"]:
                self._check_handler(line, "handler", v["handler"])
            for username in _split(v["co_handlers"]):
                self._check_handler(line, "co_handlers", username)

    # --- writing ------------------------------------------------------------------------------

    def write(self, *, actor=None) -> None:
        groups = {g.name: g for g in Group.objects.filter(name__in=roles.ALL_ROLES)}
        steps: list[tuple[str, Callable[[Row], None]]] = [
            ("units", lambda row: unit_create(name=row.values["name"], slug=row.values["slug"], actor=actor)),
            ("staff", lambda row: self._write_staff(row, groups, actor)),
            ("memberships", lambda row: self._write_membership(row, actor)),
            ("cases", lambda row: self._write_case(row, actor)),
        ]
        for kind, step in steps:
            for row in self.rows.get(kind, []):
                try:
                    with transaction.atomic():
                        step(row)
                except Exception as exc:  # reported by line; the caller rolls everything back
                    self.problem(kind, row.line, _("could not be imported: %(error)s") % {"error": exc})
                    return
                self.report.counts[kind] += 1

    def _write_staff(self, row: Row, groups: dict, actor) -> None:
        v = row.values
        user = self.User(
            username=v["username"],
            first_name=v["first_name"],
            last_name=v["last_name"],
            email=v["email"],
            kind=self.User.Kind.STAFF,
        )
        # No password: staff log in with SSO, or an administrator sets one.
        user.set_unusable_password()
        user.save()
        user.groups.add(*[groups[name] for name in self.new_staff[v["username"]]])
        mailbox_personal_for(user)
        # Roles given here go around accounts.services.role_grant: the change log must still have them.
        audit_event_record(
            actor=actor,
            action="golive.staff_create",
            target=user,
            after={"user": user.username, "roles": sorted(self.new_staff[v["username"]])},
            reason="go-live import",
        )

    def _write_membership(self, row: Row, actor) -> None:
        user = self.User.objects.get(username=row.values["username"])
        membership_add(unit=Unit.objects.get(slug=row.values["unit"]), user=user, actor=actor)

    def _write_case(self, row: Row, actor) -> None:
        v = row.values
        citizen = citizen_get_or_create(
            personnummer=v["personnummer"], first_name=v["first_name"], last_name=v["last_name"]
        )
        protected = PROTECTED_VALUES[v.get("protected_identity", "").lower()]
        if protected is not None:  # before the case: its first message is routed by it already
            citizen_protected_identity_set(
                citizen=citizen, protected=protected, actor=actor, reason="go-live import", source="import"
            )
        users = {
            u.username: u
            for u in self.User.objects.filter(username__in=[v["handler"], *_split(v["co_handlers"])])
        }
        case_create(
            citizen=citizen,
            eservice=EService.objects.get(slug=v["eservice"]),
            unit=Unit.objects.get(slug=v["unit"]) if v["unit"] else None,
            subject=v["subject"],
            handler=users.get(v["handler"]) if v["handler"] else None,
            co_handlers=[users[name] for name in _split(v["co_handlers"])],
            external_id=v["external_id"],
            actor=actor,
        )


def golive_import(*, files: dict[str, tuple[str, str]], dry_run: bool, actor=None) -> ImportReport:
    """Check, then import everything or nothing. `files`: kind -> (label, CSV text)."""
    job = GoLiveImport(files)
    job.check()
    if not job.report.ok:
        return job.report
    with transaction.atomic():
        job.write(actor=actor)
        if dry_run or not job.report.ok:
            transaction.set_rollback(True)
        else:
            job.report.written = True
    return job.report
