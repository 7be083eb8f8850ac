"""The reference workload of issue 8, loaded with bulk inserts (ORM bulk_create for the small tables,
COPY for the large ones) into an empty, migrated database.

7 units, 50 handläggare each (personal mailbox, member of the unit's group mailbox); N citizens with
one case each across the five e-services, each case with a handler of the right unit; one citizen
thread per case with 10 messages alternating citizen and handler. A case's first citizen message
arrived before a handler was assigned, so it sits in the unit's group mailbox (that is why a group
mailbox lists about a seventh of all threads); the rest went to the handler. 30% of the latest citizen
messages are unread; 10% of handlers are absent with forwarding on, so their unread messages also
sit, forwarded, in the group mailbox.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone
from guardian.models import UserObjectPermission
from stdnum import luhn

from absence.models import Absence
from eservices.models import Case, Citizen, EService
from lifemsg.demo import data as demo
from mailboxes.models import Delivery, Mailbox, MailboxThread, Message, Thread, Unit, UnitMembership
from mailboxes.services.units import unit_create

from .copy import copy_instances, reset_sequence

WORDS = (
    "ansökan bistånd hyra el räkning kontoutdrag läkarintyg samtal möte besök barn skola förskola "
    "boende hemtjänst ledsagare insats beslut utredning underlag lön pension försäkringskassan "
    "arbetsförmedlingen tandvård medicin resa buss telefon tid vecka måndag tisdag onsdag torsdag "
    "fredag mamma pappa son dotter familj stöd hjälp fråga svar tack hej vänliga hälsningar"
).split()
FIRST = "Alva Oskar Maja Elias Astrid Gösta Wilma Noah Ebba Hugo Leo Saga Nils Olivia Vera Liam".split()
LAST = "Lindqvist Bergqvist Sundberg Holmgren Blom Sandberg Engström Hedlund Lundgren Axelsson".split()
PASSWORD = "bench-password-not-for-production"
# A word no sentence is made of, in the first message of one thread in RARE_EVERY: the bench's rare
# search (WORDS are each in most threads: a common search).
RARE_WORD = "överklagandet"
COMMON_WORD = "hemtjänst"
RARE_EVERY = 200
# mailboxes migration 0006's GIN index on the stored Swedish tsvector, and 0008's trigram indexes:
# built once after the COPY, in bulk, rather than entry by entry during it.
SEARCH_INDEX = "message_search_vector_gin"
SEARCH_INDEXES = {
    SEARCH_INDEX: "mailboxes_message USING gin (search_vector)",
    "thread_subject_trgm": "mailboxes_thread USING gin (UPPER(subject::text) gin_trgm_ops)",
    "mbthread_counterpart_trgm": (
        "mailboxes_mailboxthread USING gin (UPPER(counterpart_name::text) gin_trgm_ops)"
    ),
}
# Threads built in Python before they are written: at ten times the data (2 million messages) the
# whole workload as model instances would take gigabytes.
BATCH_THREADS = 20_000


@dataclass
class Workload:
    units: list[Unit] = field(default_factory=list)
    handlers_by_unit: dict[int, list] = field(default_factory=dict)
    absent_ids: set[int] = field(default_factory=set)
    citizens: int = 0
    threads: int = 0
    messages: int = 0
    deliveries: int = 0
    seconds: float = 0.0


def _personnummer(i: int) -> str:
    year = 1940 + i % 60
    month = 1 + (i // 60) % 12
    day = 1 + (i // 720) % 28
    serial = i % 1000
    body = f"{year % 100:02d}{month:02d}{day:02d}{serial:03d}"
    return f"{year // 100}{body}{luhn.calc_check_digit(body)}"


def _sentence(rng: random.Random, n: int = 14) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


@transaction.atomic
def seed(
    *,
    citizens: int = 20_000,
    handlers_per_unit: int = 50,
    messages_per_thread: int = 10,
    unread_share: float = 0.3,
    absent_share: float = 0.1,
    rng_seed: int = 42,
) -> Workload:
    started = time.perf_counter()
    rng = random.Random(rng_seed)
    User = get_user_model()
    now = timezone.now()
    w = Workload()

    # --- organisation
    for slug, name in demo.UNITS:
        w.units.append(unit_create(name=name, slug=slug))
    unit_by_slug = {u.slug: u for u in w.units}
    eservices = [
        EService.objects.create(slug=slug, name=name, unit=unit_by_slug[unit_slug], citizen_can_start=start)
        for slug, name, unit_slug, start in demo.ESERVICES
    ]
    handler_group = Group.objects.get(name="Handläggare")
    password = make_password(PASSWORD)
    staff = []
    for unit in w.units:
        for i in range(handlers_per_unit):
            staff.append(
                User(
                    username=f"{unit.slug}.h{i:02d}",
                    first_name=rng.choice(FIRST),
                    last_name=rng.choice(LAST),
                    password=password,
                    kind=User.Kind.STAFF,
                )
            )
    staff = User.objects.bulk_create(staff)
    for n, unit in enumerate(w.units):
        w.handlers_by_unit[unit.pk] = staff[n * handlers_per_unit : (n + 1) * handlers_per_unit]
    Mailbox.objects.bulk_create(
        [Mailbox(kind=Mailbox.Kind.PERSONAL, name=u.get_full_name(), owner=u) for u in staff]
    )
    personal = dict(Mailbox.objects.filter(kind=Mailbox.Kind.PERSONAL).values_list("owner_id", "pk"))
    group_box = {u.pk: u.group_mailbox for u in Unit.objects.select_related("group_mailbox")}
    memberships, user_groups = [], []
    for unit in w.units:
        for user in w.handlers_by_unit[unit.pk]:
            memberships.append(UnitMembership(unit=unit, user=user))
            user_groups.append(User.groups.through(user_id=user.pk, group_id=handler_group.pk))
            user_groups.append(
                User.groups.through(user_id=user.pk, group_id=group_box[unit.pk].access_group_id)
            )
    UnitMembership.objects.bulk_create(memberships)
    User.groups.through.objects.bulk_create(user_groups)
    absent = rng.sample(staff, max(1, int(len(staff) * absent_share)) if absent_share else 0)
    w.absent_ids = {u.pk for u in absent}
    unit_of = {h.pk: unit.pk for unit in w.units for h in w.handlers_by_unit[unit.pk]}

    # --- citizens
    citizen_users = User.objects.bulk_create(
        [
            User(
                username=f"citizen-{_personnummer(i)}",
                first_name=rng.choice(FIRST),
                last_name=rng.choice(LAST),
                password="!",
                kind=User.Kind.CITIZEN,
            )
            for i in range(citizens)
        ],
        batch_size=5000,
    )
    citizen_rows = Citizen.objects.bulk_create(
        [
            Citizen(user=u, personnummer=_personnummer(i), first_name=u.first_name, last_name=u.last_name)
            for i, u in enumerate(citizen_users)
        ],
        batch_size=5000,
    )
    w.citizens = len(citizen_rows)

    # --- threads, cases, messages, deliveries, summaries (explicit ids, COPY)
    threads, cases, perms = [], [], []
    messages, deliveries, summaries = [], [], []
    send_perm = Permission.objects.get(codename="send_to_citizen", content_type__app_label="eservices")
    case_ct = ContentType.objects.get_for_model(Case)
    message_id = delivery_id = 0
    with connection.cursor() as cursor:
        for name in SEARCH_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
    handler_names = {h.pk: h.get_full_name() for h in staff}
    for i, (citizen, cuser) in enumerate(zip(citizen_rows, citizen_users, strict=True)):
        eservice = eservices[i % len(eservices)]
        unit_id = eservice.unit_id
        handler = rng.choice(w.handlers_by_unit[unit_id])
        thread_id = i + 1
        start = now - timedelta(days=rng.uniform(2, 365))
        times = [start + timedelta(hours=6 * k + rng.uniform(0, 5)) for k in range(messages_per_thread)]
        subject = f"{eservice.name} – {rng.choice(WORDS)}"
        threads.append(
            Thread(
                id=thread_id,
                kind=Thread.Kind.CITIZEN,
                subject=subject,
                citizen_id=cuser.pk,
                created_at=start,
                last_message_at=times[-1],
            )
        )
        cases.append(
            Case(
                id=thread_id,
                citizen_id=citizen.pk,
                eservice_id=eservice.pk,
                unit_id=unit_id,
                handler_id=handler.pk,
                thread_id=thread_id,
                reference=f"BENCH-{thread_id:06d}",
                created_at=start,
            )
        )
        perms.append(
            UserObjectPermission(
                permission=send_perm, user_id=handler.pk, content_type=case_ct, object_pk=str(thread_id)
            )
        )
        hbox, gbox = personal[handler.pk], group_box[unit_id].pk
        is_absent = handler.pk in w.absent_ids
        last_citizen = max(k for k in range(messages_per_thread) if k % 2 == 0)
        unread_last = rng.random() < unread_share
        hsum = {"count": 0, "unread": 0, "last": None, "sender": "", "snippet": ""}
        gsum = {"count": 0, "unread": 0, "last": None, "sender": "", "snippet": "", "fwd": ""}
        for k, at in enumerate(times):
            message_id += 1
            from_citizen = k % 2 == 0
            body = _sentence(rng)
            if k == 0 and thread_id % RARE_EVERY == 0:
                body = f"{body} Om {RARE_WORD} av beslutet."
            sender_id = cuser.pk if from_citizen else handler.pk
            messages.append(
                Message(
                    id=message_id,
                    thread_id=thread_id,
                    sender_id=sender_id,
                    sender_mailbox_id=None if from_citizen else hbox,
                    body=body,
                    created_at=at,
                    routed_at=at,
                )
            )
            sender_name = cuser.get_full_name() if from_citizen else handler_names[handler.pk]
            snippet = body[:140]
            if k == 0:
                delivery_id += 1
                deliveries.append(
                    Delivery(
                        id=delivery_id,
                        message_id=message_id,
                        mailbox_id=gbox,
                        thread_id=thread_id,
                        created_at=at,
                        read_at=at,
                        read_by_id=handler.pk,
                        handled_at=at,
                        handled_by_id=handler.pk,
                    )
                )
                gsum.update(count=gsum["count"] + 1, last=at, sender=sender_name, snippet=snippet)
                continue
            unread = from_citizen and k == last_citizen and unread_last
            delivery_id += 1
            own_id = delivery_id
            deliveries.append(
                Delivery(
                    id=own_id,
                    message_id=message_id,
                    mailbox_id=hbox,
                    thread_id=thread_id,
                    reason=Delivery.Reason.DIRECT if from_citizen else Delivery.Reason.SENT,
                    created_at=at,
                    read_at=None if unread else at,
                    read_by_id=None if unread else handler.pk,
                    away_forwarded_at=at if (unread and is_absent) else None,
                )
            )
            hsum.update(
                count=hsum["count"] + 1,
                unread=hsum["unread"] + int(unread),
                last=at,
                sender=sender_name,
                snippet=snippet,
            )
            if unread and is_absent:
                delivery_id += 1
                deliveries.append(
                    Delivery(
                        id=delivery_id,
                        message_id=message_id,
                        mailbox_id=gbox,
                        thread_id=thread_id,
                        reason=Delivery.Reason.FORWARDED_ABSENCE,
                        forwarded_for_id=handler.pk,
                        forwarded_from_id=own_id,
                        created_at=at,
                    )
                )
                gsum.update(
                    count=gsum["count"] + 1,
                    unread=gsum["unread"] + 1,
                    last=at,
                    sender=sender_name,
                    snippet=snippet,
                    fwd=handler_names[handler.pk],
                )
        counterpart = cuser.get_full_name()
        summaries.append(
            MailboxThread(
                mailbox_id=hbox,
                thread_id=thread_id,
                last_activity_at=hsum["last"],
                message_count=hsum["count"],
                unread_count=hsum["unread"],
                latest_sender_name=hsum["sender"],
                latest_snippet=hsum["snippet"],
                counterpart_name=counterpart,
            )
        )
        summaries.append(
            MailboxThread(
                mailbox_id=gbox,
                thread_id=thread_id,
                last_activity_at=gsum["last"],
                message_count=gsum["count"],
                unread_count=gsum["unread"],
                latest_sender_name=gsum["sender"],
                latest_snippet=gsum["snippet"],
                counterpart_name=counterpart,
                forwarded_for_name=gsum["fwd"],
                handled_by_id=None if gsum["unread"] else handler.pk,
                handled_at=None if gsum["unread"] else gsum["last"],
            )
        )
        if len(threads) >= BATCH_THREADS:
            _write(w, threads, cases, perms, messages, deliveries, summaries)
    _write(w, threads, cases, perms, messages, deliveries, summaries)
    for model in (Thread, Case, Message, Delivery):
        reset_sequence(model)
    with connection.cursor() as cursor:
        # The COPY's deferred foreign-key checks run now: PostgreSQL builds no index on a table
        # with checks pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")  # the index built in memory
        for name, definition in SEARCH_INDEXES.items():
            cursor.execute(f"CREATE INDEX {name} ON {definition}")

    # --- absences with forwarding on
    Absence.objects.bulk_create(
        [
            Absence(
                handler=h,
                kind=Absence.Kind.UNPLANNED,
                starts_at=now - timedelta(days=1),
                forward_to=group_box[unit_of[h.pk]],
                set_by=h,
                started_processed_at=now - timedelta(days=1),
            )
            for h in absent
        ]
    )
    w.seconds = time.perf_counter() - started
    return w


def _write(w: Workload, threads, cases, perms, messages, deliveries, summaries) -> None:
    """COPY a batch of built rows, count them into `w` and empty the lists for the next batch (the
    foreign keys are checked at commit, so the order of tables within the seed does not matter)."""
    w.threads += copy_instances(Thread, threads)
    copy_instances(Case, cases)
    w.messages += copy_instances(Message, messages)
    w.deliveries += copy_instances(Delivery, deliveries)
    copy_instances(MailboxThread, summaries, with_pk=False)
    UserObjectPermission.objects.bulk_create(perms, batch_size=5000)
    for rows in (threads, cases, perms, messages, deliveries, summaries):
        rows.clear()
