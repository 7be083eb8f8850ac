"""factory_boy factories and a small organisation builder that goes through the services, so that
test data has the same shape (mailboxes, guardian groups, summaries) as real data."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from stdnum import luhn

from accounts import roles
from eservices.models import EService
from eservices.services import case_create, citizen_get_or_create
from mailboxes.models import Unit
from mailboxes.services import mailbox_personal_for, membership_add, unit_create

User = get_user_model()
_seq = itertools.count(1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Sequence(lambda n: f"Förnamn{n}")
    last_name = factory.Sequence(lambda n: f"Efternamn{n}")
    kind = User.Kind.STAFF
    password = factory.django.Password("test-password-123")


def staff(role: str = roles.HANDLAGGARE, *, units: tuple[Unit, ...] = (), **kwargs):
    user = UserFactory(**kwargs)
    user.groups.add(Group.objects.get(name=role))
    mailbox_personal_for(user)
    for unit in units:
        membership_add(unit=unit, user=user)
    return user


def unit(name: str | None = None):
    n = next(_seq)
    return unit_create(name=name or f"Enhet {n}", slug=f"enhet-{n}")


def personnummer(n: int | None = None) -> str:
    n = n if n is not None else next(_seq)
    body = f"800101{n % 1000:03d}"
    return "19" + body + luhn.calc_check_digit(body)


def citizen(first: str = "Medborgare", last: str | None = None, number: str | None = None):
    n = next(_seq)
    return citizen_get_or_create(
        personnummer=number or personnummer(n), first_name=first, last_name=last or f"Nummer{n}"
    )


def eservice(unit: Unit, name: str | None = None):
    n = next(_seq)
    return EService.objects.create(name=name or f"E-tjänst {n}", slug=f"etjanst-{n}", unit=unit)


def case(*, citizen_obj=None, eservice_obj, handler=None, co_handlers=(), subject="Ärende"):
    return case_create(
        citizen=citizen_obj or citizen(),
        eservice=eservice_obj,
        subject=subject,
        handler=handler,
        co_handlers=co_handlers,
    )


@dataclass
class Organisation:
    unit_a: Unit
    unit_b: Unit
    handler_a1: object
    handler_a2: object
    handler_b1: object
    manager_a: object
    admin: object
    superuser: object
    sysadmin: object
    log_reviewer: object
    eservice_a: EService
    extra: dict = field(default_factory=dict)

    @classmethod
    def build(cls) -> Organisation:
        unit_a = unit("IFO Testenhet A")
        unit_b = unit("IFO Testenhet B")
        return cls(
            unit_a=unit_a,
            unit_b=unit_b,
            handler_a1=staff(units=(unit_a,), first_name="Anna", last_name="Andersson"),
            handler_a2=staff(units=(unit_a,), first_name="Bo", last_name="Berg"),
            handler_b1=staff(units=(unit_b,), first_name="Cilla", last_name="Carlsson"),
            manager_a=staff(roles.ENHETSCHEF, units=(unit_a,), first_name="Dora", last_name="Dahl"),
            admin=staff(roles.ADMINISTRATOR, first_name="Erik", last_name="Ek"),
            superuser=staff(roles.SUPERANVANDARE, first_name="Fia", last_name="Falk"),
            sysadmin=staff(roles.SYSTEMFORVALTARE, first_name="Gun", last_name="Gran"),
            log_reviewer=staff(roles.LOGGRANSKARE, first_name="Hans", last_name="Holm"),
            eservice_a=eservice(unit_a),
        )
