"""One benchmark phase per process (`python -m bench.phases NAME`), run by bench.run with its own
DATABASE_URL; each prints one JSON object on its last line of output."""

from __future__ import annotations

import json
import os
import sys
import time
from urllib.parse import urlencode

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lifemsg.settings.bench")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import DatabaseError, connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from bench.measure import measure_get  # noqa: E402


def phase_setup(scale: float) -> dict:
    from bench.workload import seed

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter() - started
    # Everything scales, handlers too: at 1% a unit has one handler, so the busiest handler's inbox
    # still fills its first page (25 rows), as at full size, and flatness compares like with like
    # (with 50 handlers a unit, 1% left the measured inbox with 2 threads to render against 25).
    w = seed(citizens=max(70, int(20_000 * scale)), handlers_per_unit=max(1, round(50 * scale)))
    phase_vacuum()
    return {
        "scale": scale,
        "migrate_s": round(migrated, 1),
        "seed_s": round(w.seconds, 1),
        "handlers": sum(len(v) for v in w.handlers_by_unit.values()),
        "citizens": w.citizens,
        "threads": w.threads,
        "messages": w.messages,
        "deliveries": w.deliveries,
        "absent_handlers": len(w.absent_ids),
    }


def phase_vacuum() -> dict:
    """VACUUM ANALYZE: what autovacuum does for a database in use, done before measuring rather than
    left to start in the middle of it (after the seed's bulk load, or an earlier run's 2,000 messages
    and load phase, it otherwise did, in the pages phase of the next run). Then a CHECKPOINT, where
    the role may (a superuser or pg_checkpoint): the seed leaves a few hundred MB of dirty buffers,
    and the timed checkpoint that writes them out otherwise fell in the middle of a later phase (an
    ingest run measured 125 msg/s with PostgreSQL at 4.4 ms of CPU a message, against 240 and 2.3
    without it)."""
    started = time.perf_counter()
    checkpoint = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        try:
            cursor.execute("CHECKPOINT")
        except DatabaseError:
            checkpoint = False
    return {"vacuum_s": round(time.perf_counter() - started, 1), "checkpoint": checkpoint}


def _busiest_handler():
    """A present (not absent) handler of the first unit that has one, with the most threads in their
    mailbox (at 1% a unit has one handler, who may be the absent one)."""
    from absence.models import Absence
    from mailboxes.models import Mailbox, MailboxThread, Unit

    absent = set(Absence.objects.values_list("handler_id", flat=True))
    for unit in Unit.objects.order_by("id"):
        boxes = list(
            Mailbox.objects.filter(kind=Mailbox.Kind.PERSONAL, owner__unit_memberships__unit=unit).exclude(
                owner_id__in=absent
            )
        )
        if boxes:
            best = max(boxes, key=lambda m: MailboxThread.objects.filter(mailbox=m).count())
            return best.owner, best, unit.group_mailbox
    raise RuntimeError("no handler at work in any unit")


def _flat_pages(personal, group) -> dict[str, str]:
    """The pages flatness compares: the handler's inbox, their unit's group mailbox, and search for a
    word in most threads and for one in few (bench.workload.RARE_WORD)."""
    from bench.workload import COMMON_WORD, RARE_WORD

    search = reverse("mailboxes:search")
    return {
        "inbox": reverse("mailboxes:mailbox", args=[personal.pk]),
        "group": reverse("mailboxes:mailbox", args=[group.pk]),
        "search_common": f"{search}?{urlencode({'q': COMMON_WORD})}",
        "search_rare": f"{search}?{urlencode({'q': RARE_WORD})}",
    }


PAGES = "inbox,group,thread,search_common,search_rare,thread_pane,group_list_pane"


def phase_pages(names: str = PAGES) -> dict:
    """The pages, and the workspace's panes as htmx asks for them: opening a thread beside the list
    (`thread_pane`) and the group mailbox's list reloading after the polled counts changed."""
    from mailboxes.models import MailboxThread

    handler, personal, group = _busiest_handler()
    client = Client()
    client.force_login(handler)
    wanted = names.split(",")
    results = {}
    for name, url in _flat_pages(personal, group).items():
        if name in wanted:
            results[name] = measure_get(client, name, url)
    summary = MailboxThread.objects.filter(mailbox=personal).order_by("-last_activity_at").first()
    thread_url = reverse("mailboxes:thread", args=[personal.pk, summary.thread_id])
    if "thread" in wanted:
        results["thread"] = measure_get(client, "thread", thread_url)
    panes = {
        "thread_pane": (thread_url, "ws-thread"),
        "group_list_pane": (reverse("mailboxes:mailbox", args=[group.pk]), "ws-list"),
    }
    for name, (url, target) in panes.items():
        if name in wanted:
            pane_client = Client(headers={"HX-Request": "true", "HX-Target": target})
            pane_client.force_login(handler)
            results[name] = measure_get(pane_client, name, url)
    return {
        "group_threads": MailboxThread.objects.filter(mailbox=group).count(),
        "inbox_threads": MailboxThread.objects.filter(mailbox=personal).count(),
        "pages": {k: v.as_dict() for k, v in results.items()},
    }


def phase_serve(names: str = "inbox,group") -> None:
    """The flatness phase's server: logged in as phase_pages is, warmed up, then one GET of the named
    page for each name read on stdin, answering with its server time ("ms <float>"). bench.run
    drives two of these, on the 1% and the full database, in turn request by request, so that the
    machine's drift (tens of percent within minutes here) falls on both alike."""
    handler, personal, group = _busiest_handler()
    client = Client()
    client.force_login(handler)
    urls = {name: _flat_pages(personal, group)[name] for name in names.split(",")}
    for url in urls.values():
        for _ in range(10):
            assert client.get(url).status_code == 200
    print("ready", flush=True)
    for line in sys.stdin:
        url = urls[line.strip()]
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (url, response.status_code)
        print(f"ms {elapsed:.4f}", flush=True)


def _ingest_cases(count: int = 2000):
    """The cases ingest writes to (and the limit measurement mirrors): `count` citizens' cases,
    one message each, 10% of them handled by absent handlers."""
    from absence.models import Absence
    from eservices.models import Case

    absent = set(Absence.objects.values_list("handler_id", flat=True))
    away = list(Case.objects.filter(handler_id__in=absent).order_by("id")[: count // 10])
    present = list(Case.objects.exclude(handler_id__in=absent).order_by("id")[: count - len(away)])
    return away + present


def phase_limit(count: int = 2000) -> dict:
    """The same rows a routed citizen message writes (message, delivery to the handler's mailbox,
    summary update), by raw psycopg, one transaction per message: the floor for ingest."""
    from django.utils import timezone

    from mailboxes.models import Mailbox

    cases = _ingest_cases(int(count))
    personal = dict(Mailbox.objects.filter(kind=Mailbox.Kind.PERSONAL).values_list("owner_id", "pk"))
    rows = [(c.thread_id, c.citizen.user_id, personal[c.handler_id]) for c in cases]
    raw = connection.cursor().connection  # the psycopg connection
    raw.autocommit = True
    started = time.perf_counter()
    for thread_id, sender_id, mailbox_id in rows:
        now = timezone.now()
        with raw.transaction():
            message_id = raw.execute(
                "INSERT INTO mailboxes_message (thread_id, kind, sender_id, body, created_at, routed_at) "
                "VALUES (%s, 'normal', %s, %s, %s, %s) RETURNING id",
                (thread_id, sender_id, "Hej! Här kommer ett nytt meddelande om mitt ärende.", now, now),
            ).fetchone()[0]
            raw.execute(
                "INSERT INTO mailboxes_delivery (message_id, mailbox_id, thread_id, reason, forward_note, "
                "created_at) VALUES (%s, %s, %s, 'direct', '', %s)",
                (message_id, mailbox_id, thread_id, now),
            )
            raw.execute(
                "UPDATE mailboxes_mailboxthread SET unread_count = unread_count + 1, message_count = "
                "message_count + 1, last_activity_at = %s WHERE mailbox_id = %s AND thread_id = %s",
                (now, mailbox_id, thread_id),
            )
    elapsed = time.perf_counter() - started
    return {"limit_per_s": round(len(rows) / elapsed, 1), "limit_messages": len(rows)}


INGEST_BODY = "Hej! Jag skickar in underlaget till min ansökan om bistånd, vänliga hälsningar."


def _post_messages(case_rows, barrier, results, index: int) -> None:
    """One poster process: a logged-in test client per citizen (logged in before the clock starts),
    then one POST per case through the citizen view, as the portal's form sends it."""
    from django.db import connections

    from accounts.models import User

    connections.close_all()  # the parent's connection must not be shared across the fork
    users = {u.pk: u for u in User.objects.filter(pk__in=[r[1] for r in case_rows])}
    clients = []
    handler = Client().handler
    for case_id, user_id in case_rows:
        client = Client()
        # One request handler for all clients, as a server process has: a new handler per client
        # would load the middleware (WhiteNoise scans every static file) on its first request.
        client.handler = handler
        client.force_login(users[user_id], backend="accounts.backends.ModelBackend")
        clients.append((reverse("eservices:case", args=[case_id]), client))
    barrier.wait()
    first = time.time()
    failures = 0
    for url, client in clients:
        response = client.post(url, {"body": INGEST_BODY})
        if response.status_code != 302:
            failures += 1
    results.put({"index": index, "first": first, "last": time.time(), "failures": failures})
    connections.close_all()


def _analyze_sessions() -> None:
    """ANALYZE the session table once the posters' citizens are logged in, as autovacuum does within
    a minute of that many new rows. On a freshly seeded database the table was analyzed empty (the
    setup's VACUUM ANALYZE) and then got 2,000 sessions in seconds, and PostgreSQL kept finding
    sessions by scanning the whole table: one ingest run read 5.6 million session rows in 7,000
    sequential scans. A database in use has statistics for its thousands of sessions."""
    from accounts.models import UserSession

    # A role that may not analyze it (PostgreSQL only warns) leaves it as it is.
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(UserSession._meta.db_table)}")


def phase_ingest(count: int = 2000, posters: int = 2, concurrency: int = 2) -> dict:
    """`count` citizen messages posted through the citizen view (eservices:case), routed by a real
    Celery worker on Redis: messages per second from the first post to the last delivery."""
    import multiprocessing

    from django.db import connections
    from django.db.models import Max

    from bench.cpu import CpuSampler
    from bench.worker import celery_worker
    from mailboxes.models import Delivery, Message

    count, posters, concurrency = int(count), int(posters), int(concurrency)
    cases = _ingest_cases(count)
    rows = [(c.pk, c.citizen.user_id) for c in cases]
    before = Message.objects.aggregate(m=Max("id"))["m"] or 0
    ctx = multiprocessing.get_context("fork")
    with celery_worker(concurrency=concurrency):
        connections.close_all()
        barrier = ctx.Barrier(posters + 1)
        results = ctx.Queue()
        procs = [
            ctx.Process(target=_post_messages, args=(rows[i::posters], barrier, results, i))
            for i in range(posters)
        ]
        for proc in procs:
            proc.start()
        wait_until = time.monotonic() + 600
        while barrier.n_waiting < posters and time.monotonic() < wait_until:
            time.sleep(0.01)  # the posters log their citizens in first: not part of the measure
        _analyze_sessions()
        with CpuSampler() as cpu:
            barrier.wait(timeout=600)
            started = time.time()
            new = Message.objects.filter(id__gt=before)
            done_posting = [results.get(timeout=600) for _ in procs]
            for proc in procs:
                proc.join()
            # Every message that was stored (a refused post stores none) must be routed.
            posted = new.filter(sender__kind="citizen")
            stored = posted.count()
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                if posted.filter(routed_at__isnull=False).count() >= stored:
                    break
                time.sleep(0.05)
        delivered = Delivery.objects.filter(message_id__gt=before, reason=Delivery.Reason.DIRECT)
        forwarded = Delivery.objects.filter(message_id__gt=before, reason=Delivery.Reason.FORWARDED_ABSENCE)
        last_delivery = Delivery.objects.filter(message_id__gt=before).aggregate(m=Max("created_at"))["m"]
    first_post = min(r["first"] for r in done_posting)
    last_post = max(r["last"] for r in done_posting)
    elapsed = last_delivery.timestamp() - first_post
    return {
        "ingest_messages": new.count(),
        "ingest_routed": new.filter(routed_at__isnull=False).count(),
        "ingest_direct_deliveries": delivered.count(),
        "ingest_forwarded": forwarded.count(),
        "ingest_post_failures": sum(r["failures"] for r in done_posting),
        "ingest_posting_s": round(last_post - first_post, 2),
        "ingest_s": round(elapsed, 2),
        "ingest_per_s": round(stored / elapsed, 1),
        "ingest_posters": posters,
        "ingest_worker_concurrency": concurrency,
        "ingest_wait_s": round(time.time() - started, 1),
        # CPU seconds by kind of process from the first post until all were routed, and per message.
        "ingest_cpu_s": cpu.seconds,
        "ingest_cpu_other_top": cpu.top_other,
        "ingest_cpu_ms_per_message": {k: round(v * 1000 / max(stored, 1), 2) for k, v in cpu.seconds.items()},
    }


def _sick_call_setup(unread: int):
    """A present handler (the last one of the last unit, so no other phase uses them) with `unread`
    unread citizen messages in their personal mailbox, spread over their case threads, written in
    bulk with the summaries brought up to date the way routing leaves them."""
    from collections import defaultdict
    from datetime import timedelta

    from django.db.models import F
    from django.utils import timezone

    from absence.models import Absence
    from eservices.models import Case
    from mailboxes.models import Delivery, Mailbox, MailboxThread, Message, Unit

    unit = Unit.objects.order_by("-id").first()
    absent = set(Absence.objects.values_list("handler_id", flat=True))
    box = (
        Mailbox.objects.filter(kind=Mailbox.Kind.PERSONAL, owner__unit_memberships__unit=unit)
        .exclude(owner_id__in=absent)
        .select_related("owner")
        .order_by("-owner_id")
        .first()
    )
    cases = list(Case.objects.filter(handler=box.owner).select_related("citizen__user").order_by("id"))
    now = timezone.now()
    messages = []
    for i in range(unread):
        case = cases[i % len(cases)]
        messages.append(
            Message(
                thread_id=case.thread_id,
                sender_id=case.citizen.user_id,
                body=f"Hej, här kommer mer underlag till mitt ärende ({i}).",
                created_at=now - timedelta(seconds=unread - i),
                routed_at=now,
            )
        )
    messages = Message.objects.bulk_create(messages, batch_size=1000)
    Delivery.objects.bulk_create(
        [Delivery(message=m, mailbox=box, thread_id=m.thread_id, created_at=m.created_at) for m in messages],
        batch_size=1000,
    )
    newest: dict[int, Message] = {}
    per_thread: dict[int, int] = defaultdict(int)
    for m in messages:
        per_thread[m.thread_id] += 1
        newest[m.thread_id] = m
    names = {c.thread_id: c.citizen.user.get_full_name() for c in cases}
    for thread_id, n in per_thread.items():
        m = newest[thread_id]
        MailboxThread.objects.filter(mailbox=box, thread_id=thread_id).update(
            message_count=F("message_count") + n,
            unread_count=F("unread_count") + n,
            last_activity_at=m.created_at,
            latest_sender_name=names[thread_id],
            latest_snippet=m.body[:140],
        )
    return box, unit.group_mailbox, [m.pk for m in messages]


def phase_sickcall(unread: int = 2000) -> dict:
    """Switching forwarding on for a handler with `unread` unread messages, through the service the
    sick-call page calls (an unplanned absence from now, forwarding to the unit's group mailbox):
    seconds until every one of them is in the group mailbox."""
    from absence.models import Absence
    from absence.services import absence_create
    from mailboxes.models import Delivery

    box, group, message_ids = _sick_call_setup(int(unread))
    started = time.perf_counter()
    absence_create(
        handler=box.owner,
        actor=box.owner,
        kind=Absence.Kind.UNPLANNED,
        starts_at=None,
        ends_at=None,
        forward_to=group,
    )
    forwarded = Delivery.objects.filter(
        mailbox=group, message_id__in=message_ids, reason=Delivery.Reason.FORWARDED_ABSENCE
    )
    while forwarded.count() < len(message_ids) and time.perf_counter() - started < 120:
        time.sleep(0.02)  # only if forwarding were asynchronous; the service forwards before returning
    elapsed = time.perf_counter() - started
    return {
        "sickcall_s": round(elapsed, 2),
        "sickcall_unread": len(message_ids),
        "sickcall_forwarded": forwarded.count(),
    }


PHASES = {
    "setup": phase_setup,
    "pages": phase_pages,
    "limit": phase_limit,
    "ingest": phase_ingest,
    "sickcall": phase_sickcall,
}


def main(argv: list[str]) -> None:
    name = argv[1]
    args = argv[2:]
    if name == "setup":
        result = phase_setup(float(args[0]) if args else 1.0)
    elif name == "vacuum":
        result = phase_vacuum()
    elif name == "pages":
        result = phase_pages(*args)
    elif name == "serve":
        phase_serve(*args)
        return
    else:
        result = PHASES[name](*args)
    print(json.dumps(result))


if __name__ == "__main__":
    get_user_model()
    main(sys.argv)
