from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from stdnum.se import personnummer

from accounts import roles
from eservices.models import Case, Citizen, EService
from lifemsg.demo import data
from mailboxes.models import Delivery, Mailbox, Message, Thread, Unit, UnitMembership

SEED_UNITS = {
    "IFO Barn och familj",
    "IFO vuxen",
    "IFO Ekonomiskt bistånd",
    "IFO Familjeteamet",
    "IFO Social stödteamet",
    "VO Biståndshandläggare",
    "LSS handläggare",
}
SEED_ESERVICES = {
    "Ansökan om ekonomiskt bistånd",
    "Meddelande IFO – barn och familj samt vuxen",
    "Ansökan om stöd enligt LSS",
    "Ansökan om stöd till äldre",
    "Digital inkomstblankett (VO)",
}

pytestmark = pytest.mark.django_db


def _counts():
    User = get_user_model()
    return {
        model.__name__: model.objects.count()
        for model in (User, Unit, Mailbox, UnitMembership, EService, Citizen, Case, Thread, Message, Delivery)
    }


def test_seed_demo_creates_exactly_the_routines_units_and_eservices(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-for-tests-only")
    call_command("seed_demo", stdout=StringIO())

    assert set(Unit.objects.values_list("name", flat=True)) == SEED_UNITS
    assert set(EService.objects.values_list("name", flat=True)) == SEED_ESERVICES
    for unit in Unit.objects.all():
        assert unit.group_mailbox.kind == Mailbox.Kind.GROUP
    for eservice in EService.objects.select_related("unit"):
        assert eservice.unit.name in SEED_UNITS


def test_seed_demo_twice_creates_nothing_new(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-for-tests-only")
    call_command("seed_demo", stdout=StringIO())
    first = _counts()
    call_command("seed_demo", stdout=StringIO())
    assert _counts() == first


def test_seed_demo_staff_citizens_and_cases(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-for-tests-only")
    call_command("seed_demo", stdout=StringIO())
    User = get_user_model()
    for unit in Unit.objects.all():
        handlers = User.objects.filter(unit_memberships__unit=unit, groups__name=roles.HANDLAGGARE)
        managers = User.objects.filter(unit_memberships__unit=unit, groups__name=roles.ENHETSCHEF)
        assert handlers.count() >= 3, unit
        assert managers.count() == 1, unit
    in_two = [
        u for u in User.objects.filter(groups__name=roles.HANDLAGGARE) if u.unit_memberships.count() > 1
    ]
    assert in_two, "some handläggare belong to two units"
    for role in (roles.ADMINISTRATOR, roles.SUPERANVANDARE, roles.LOGGRANSKARE):
        assert User.objects.filter(groups__name=role).count() == 1
    # Two systemförvaltare: one proposes a retention run, the other approves it.
    assert User.objects.filter(groups__name=roles.SYSTEMFORVALTARE).count() == 2
    assert Citizen.objects.count() >= 10
    for citizen in Citizen.objects.all():
        assert personnummer.is_valid(citizen.personnummer)
        assert citizen.cases.exists()
    # Every stored message has reached a mailbox.
    assert not Message.objects.filter(routed_at__isnull=True).exists()
    assert Case.objects.filter(handler__isnull=True).exists()
    assert Case.objects.filter(co_handlers__isnull=False).exists()


def test_demo_password_comes_from_environment(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "another-demo-pass-123")
    call_command("seed_demo", stdout=StringIO())
    user = get_user_model().objects.get(username="anna.andersson")
    assert user.check_password("another-demo-pass-123")


def test_seed_demo_prints_every_demo_login(monkeypatch):
    """The printout is how a first-time user finds a login: every account, not the first three."""
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-for-tests-only")
    out = StringIO()
    call_command("seed_demo", stdout=out)
    printed = out.getvalue()
    assert "…" not in printed
    for username, *_ in (*data.HANDLERS, *data.MANAGERS, *data.OFFICE):
        assert username in printed, username
    for pnr, first, last, _protected in data.CITIZENS:
        assert f"{pnr[:8]}-{pnr[8:]}" in printed
        assert f"{first} {last}" in printed
