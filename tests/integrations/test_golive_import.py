"""Go-live import from CSV: every problem by line, a dry run writes nothing, no partial import."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from eservices.models import Case, Citizen
from eservices.permissions import can_send_to_citizen
from mailboxes.models import Unit, UnitMembership
from tests import factories

pytestmark = pytest.mark.django_db
User = get_user_model()

GOOD_PNR = factories.personnummer(321)
OTHER_PNR = factories.personnummer(322)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path, org):
    """A consistent go-live set: two new units, three staff, memberships, three open cases."""
    return {
        "units": write(
            tmp_path,
            "units.csv",
            "name,slug\nIFO Familjeteamet,familjeteamet\nLSS handläggare,lss\n",
        ),
        "staff": write(
            tmp_path,
            "staff.csv",
            # semicolons, as Swedish spreadsheet programs write them, and a BOM
            "\ufeffusername;first_name;last_name;email;roles\n"
            "kalle;Kalle;Kula;kalle@kommun.example;Handläggare\n"
            "lisa;Lisa;Lund;;Handläggare|Enhetschef\n"
            "maja;Maja;Mård;maja@kommun.example;Loggranskare\n",
        ),
        "memberships": write(
            tmp_path,
            "memberships.csv",
            f"username,unit\nkalle,familjeteamet\nlisa,familjeteamet\nlisa,lss\n{org.handler_a1.username},lss\n",
        ),
        "cases": write(
            tmp_path,
            "cases.csv",
            "external_id,personnummer,first_name,last_name,eservice,unit,subject,handler,co_handlers\n"
            f"LC-100,{GOOD_PNR},Sara,Svensson,{org.eservice_a.slug},familjeteamet,Stöd,kalle,lisa\n"
            f'LC-101,{OTHER_PNR},Olle,Ost,{org.eservice_a.slug},,"Ansökan, LSS",,\n'
            f"LC-102,{GOOD_PNR},Sara,Svensson,{org.eservice_a.slug},lss,Ny fråga,"
            f"{org.handler_a1.username},\n",
        ),
    }


def run(files: dict, *, dry_run: bool = False) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    args = [f"--{kind}={path}" for kind, path in files.items()]
    if dry_run:
        args.append("--dry-run")
    call_command("import_golive", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def snapshot() -> tuple:
    return (
        Unit.objects.count(),
        User.objects.count(),
        UnitMembership.objects.count(),
        Case.objects.count(),
        Citizen.objects.count(),
        AuditEvent.objects.count(),
    )


def test_a_good_file_imports_exactly(files, org):
    out, err = run(files)

    assert err == ""
    assert "2 units, 3 staff, 4 memberships, 3 cases" in out
    familj = Unit.objects.get(slug="familjeteamet")
    assert familj.name == "IFO Familjeteamet"
    assert familj.group_mailbox is not None
    lisa = User.objects.get(username="lisa")
    assert (lisa.kind, lisa.has_usable_password()) == ("staff", False)
    assert set(lisa.groups.filter(name__in=["Handläggare", "Enhetschef"]).values_list("name", flat=True)) == {
        "Handläggare",
        "Enhetschef",
    }
    assert set(UnitMembership.objects.filter(user=lisa).values_list("unit__slug", flat=True)) == {
        "familjeteamet",
        "lss",
    }
    assert lisa.has_perm("mailboxes.access_mailbox", familj.group_mailbox)
    case = Case.objects.get(external_id="LC-100")
    assert (case.unit.slug, case.handler.username, case.status) == ("familjeteamet", "kalle", "open")
    assert [u.username for u in case.co_handlers.all()] == ["lisa"]
    assert can_send_to_citizen(user=User.objects.get(username="lisa"), case=case)
    no_handler = Case.objects.get(external_id="LC-101")
    assert (no_handler.handler, no_handler.unit, no_handler.thread.subject) == (
        None,
        org.eservice_a.unit,
        "Ansökan, LSS",
    )
    # one citizen for the two cases with the same personnummer
    assert Case.objects.get(external_id="LC-102").citizen_id == case.citizen_id
    assert Citizen.objects.filter(personnummer=GOOD_PNR).count() == 1


def test_the_roles_of_imported_staff_are_in_the_change_log(files):
    run(files)
    lisa = User.objects.get(username="lisa")
    event = AuditEvent.objects.get(action="golive.staff_create", target_id=str(lisa.pk))
    assert event.after == {"user": "lisa", "roles": ["Enhetschef", "Handläggare"]}
    assert AuditEvent.objects.filter(action="golive.staff_create").count() == 3


def test_dry_run_of_a_good_file_reports_and_writes_nothing(files):
    before = snapshot()
    out, err = run(files, dry_run=True)
    assert "Dry run" in out and "3 cases" in out
    assert snapshot() == before


def test_dry_run_reports_bad_personnummer_and_unknown_unit_by_line_and_writes_nothing(files, org, tmp_path):
    files["cases"] = write(
        tmp_path,
        "cases.csv",
        "external_id,personnummer,first_name,last_name,eservice,unit,subject,handler,co_handlers\n"
        f"LC-200,{GOOD_PNR},Sara,Svensson,{org.eservice_a.slug},,Stöd,kalle,\n"
        f"LC-201,19800101-1234,Bo,Bok,{org.eservice_a.slug},,Stöd,,\n"
        f"LC-202,{OTHER_PNR},Olle,Ost,{org.eservice_a.slug},finns-inte,Stöd,,\n",
    )
    before = snapshot()
    err = StringIO()

    with pytest.raises(CommandError, match="2 problem"):
        call_command("import_golive", *[f"--{k}={p}" for k, p in files.items()], "--dry-run", stderr=err)

    assert snapshot() == before
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("cases.csv rad 3: personnummer '19800101-1234': ")
    assert "personnummer" in lines[0].split(": ", 2)[2].lower()
    assert lines[1] == "cases.csv rad 4: okänd enhet 'finns-inte'"


def test_problems_are_reported_with_file_and_line(files, org, tmp_path, capsys):
    files["memberships"] = write(
        tmp_path, "memberships.csv", "username,unit\nkalle,familjeteamet\nkalle,okand\n"
    )
    files["cases"] = write(
        tmp_path,
        "cases.csv",
        "external_id,personnummer,first_name,last_name,eservice,unit,subject,handler,co_handlers\n"
        f"LC-300,19800101-1234,Bo,Bok,{org.eservice_a.slug},,Stöd,,\n"
        f"LC-301,{OTHER_PNR},Olle,Ost,{org.eservice_a.slug},saknas,Stöd,maja,\n",
    )
    from integrations.golive import golive_import

    report = golive_import(
        files={kind: (path.name, path.read_text(encoding="utf-8")) for kind, path in files.items()},
        dry_run=True,
    )
    problems = [str(p) for p in report.problems]

    assert "memberships.csv rad 3: okänd enhet 'okand'" in problems
    assert any(p.startswith("cases.csv rad 2: personnummer '19800101-1234'") for p in problems)
    assert "cases.csv rad 3: okänd enhet 'saknas'" in problems
    assert "cases.csv rad 3: handler: maja har ingen roll som kan använda brevlådorna" in problems
    assert len(problems) == 4


def test_an_error_anywhere_imports_nothing_at_all(files, tmp_path):
    files["staff"] = write(
        tmp_path,
        "staff.csv",
        "username,first_name,last_name,email,roles\nkalle,Kalle,Kula,,Handläggare\nlisa,Lisa,Lund,,Kung\n"
        "maja,Maja,Mård,,Loggranskare\n",
    )
    before = snapshot()
    with pytest.raises(CommandError):
        run(files)
    assert snapshot() == before


def test_a_database_error_during_writing_rolls_everything_back(files, monkeypatch):
    from integrations import golive

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(golive, "case_create", fail)
    before = snapshot()
    with pytest.raises(CommandError):
        run(files)
    assert snapshot() == before


def test_existing_objects_and_duplicates_are_problems(files, org, tmp_path):
    files["units"] = write(
        tmp_path,
        "units.csv",
        f"name,slug\nNy enhet,ny\nNy enhet 2,ny\nGammal,{org.unit_a.slug}\n",
    )
    from integrations.golive import golive_import

    report = golive_import(files={"units": ("units.csv", files["units"].read_text())}, dry_run=True)
    assert [str(p) for p in report.problems] == [
        "units.csv rad 3: enheten ny finns två gånger i filen",
        f"units.csv rad 4: enheten {org.unit_a.slug} finns redan",
    ]


def test_missing_columns_are_reported_on_line_1(tmp_path, db):
    path = write(tmp_path, "staff.csv", "username,first_name\nkalle,Kalle\n")
    with pytest.raises(CommandError):
        run({"staff": path})
    from integrations.golive import golive_import

    report = golive_import(files={"staff": ("staff.csv", path.read_text())}, dry_run=True)
    assert [str(p) for p in report.problems] == [
        "staff.csv rad 1: kolumn(er) saknas: last_name, email, roles"
    ]


def test_the_import_sets_protected_identity_and_audits_it(org, tmp_path):
    from eservices.models import Citizen

    cases = write(
        tmp_path,
        "cases.csv",
        "external_id,personnummer,first_name,last_name,eservice,unit,subject,handler,co_handlers,"
        "protected_identity\n"
        f"LC-200,{GOOD_PNR},Sara,Svensson,{org.eservice_a.slug},,Stöd,,,ja\n"
        f"LC-201,{OTHER_PNR},Olle,Ost,{org.eservice_a.slug},,Stöd,,,\n",
    )
    run({"cases": cases})
    assert Citizen.objects.get(personnummer=GOOD_PNR.replace("-", "")).protected_identity
    assert not Citizen.objects.get(personnummer=OTHER_PNR.replace("-", "")).protected_identity
    [event] = AuditEvent.objects.filter(action="citizen.protected_identity")
    assert event.after == {"protected_identity": True, "source": "import"}


def test_the_import_refuses_protected_identity_from_an_actor_without_the_permission(org, tmp_path):
    cases = write(
        tmp_path,
        "cases.csv",
        "external_id,personnummer,first_name,last_name,eservice,unit,subject,handler,co_handlers,"
        "protected_identity\n"
        f"LC-300,{GOOD_PNR},Sara,Svensson,{org.eservice_a.slug},,Stöd,,,ja\n",
    )
    before = snapshot()
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(
            "import_golive", f"--cases={cases}", f"--actor={org.handler_a1.username}", stdout=out, stderr=err
        )
    assert snapshot() == before
    assert not Case.objects.filter(external_id="LC-300").exists()
