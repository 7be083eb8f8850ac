"""`make chaos`: a repeatable fault-injection run against servers it starts itself (bench.chaos.servers)
with production's settings (lifemsg.settings.chaos): citizens post through the case form over HTTP
while handlers are away, and the worker, Redis, PostgreSQL and beat are made to fail in turn
(bench.chaos.faults). Per fault it prints what the guarantees of DESIGN.md promise, counted from the
database (bench.chaos.ledger), and exits 1 if any target of issue 18 is missed."""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from .faults import FAULTS, Settings, Stage
from .servers import ROOT, Postgres, Processes, Redis

RESULTS = ROOT / "bench" / "results"
CITIZENS, HANDLERS_PER_UNIT = 300, 4
AWAY_TEXT = "Jag är inte på plats. Ditt meddelande har gått vidare till mina kollegor."
STARTED = time.monotonic()


def say(text: str) -> None:
    print(f"[chaos {time.monotonic() - STARTED:5.0f} s] {text}", flush=True)


def prepare(logins_for) -> tuple[list, object]:
    """Seed a small municipality (bench.workload), send one handler of each unit away with
    forwarding and an out-of-office text, and make each citizen's session. Returns the citizens
    and the absence that ends mid-run."""
    from django.test import Client
    from django.urls import reverse

    from absence.models import Absence
    from absence.services import absence_create
    from bench.workload import seed
    from eservices.models import Case

    from .citizens import Citizen

    workload = seed(citizens=CITIZENS, handlers_per_unit=HANDLERS_PER_UNIT, absent_share=0.0)
    absences = []
    for unit in workload.units:
        handler = workload.handlers_by_unit[unit.pk][0]
        absences.append(
            absence_create(
                handler=handler,
                actor=handler,
                kind=Absence.Kind.UNPLANNED,
                starts_at=None,
                ends_at=None,
                forward_to=unit.group_mailbox,
                message_to_citizens=AWAY_TEXT,
            )
        )
    away = {a.handler_id for a in absences}
    citizens, keys = [], {}
    for case in Case.objects.select_related("citizen__user").order_by("id"):
        user = case.citizen.user
        client = Client()
        client.force_login(user, backend="accounts.backends.ModelBackend")
        keys[user.pk] = client.cookies["sessionid"].value
        url = reverse("eservices:case", args=[case.pk])
        citizens.append(Citizen(user.pk, url, case.handler_id, away_handler=case.handler_id in away))
    logins_for.update(keys)
    return citizens, absences[-1]


def end_absence(absence):
    def end_in(seconds: float) -> None:
        from datetime import timedelta

        from django.utils import timezone

        from absence.services import absence_update

        absence_update(
            absence=absence, actor=absence.handler, ends_at=timezone.now() + timedelta(seconds=seconds)
        )
        say(f"the absence of handler {absence.handler_id} ends in {seconds:.0f} s")

    return end_in


def restarts(service, start: float, end: float) -> tuple[int, int]:
    window = [expected for when, expected in service.restarts if start <= when <= end]
    return sum(window), len(window) - sum(window)


def run_faults(stage: Stage, since_id: int) -> list[dict]:
    from . import ledger

    rows = []
    for name, what, fault, target in FAULTS:
        say(f"{name}: {what}")
        start = time.time()
        routed_from = fault(stage, name)
        say(f"{name}: fault over, waiting for routing (at most {stage.settings.routed_cap_s:.0f} s)")
        ledger.wait_routed(since_id, stage.settings.routed_cap_s)
        end = time.time()
        figures = ledger.count(stage.poster.of(name), since_id, start=start, end=end, routed_from=routed_from)
        w_expected, w_unexpected = restarts(stage.processes.worker, start, end)
        b_expected, b_unexpected = restarts(stage.processes.beat, start, end)
        figures.restarts_expected = w_expected + b_expected
        figures.restarts_unexpected = w_unexpected + b_unexpected
        statuses = Counter(str(p.status) for p in stage.poster.of(name))  # 0: no answer
        rows.append({"fault": name, "target_s": target, "worker_restarts": [w_expected, w_unexpected],
                     "beat_restarts": [b_expected, b_unexpected], "answers": dict(statuses),
                     **asdict(figures)})  # fmt: skip
        say(f"{name}: {rows[-1]}")
    return rows


def missed(row: dict) -> list[str]:
    out = [key for key in ("lost", "duplicated", "only_absent", "double_replies") if row[key]]
    if row["restarts_unexpected"]:
        out.append("worker/beat died by itself")
    if row["routed_after_s"] is None:
        out.append("not all routed")
    elif row["target_s"] is not None and row["routed_after_s"] > row["target_s"]:
        out.append(f"routed after > {row['target_s']:.0f} s")
    return out


def table(rows: list[dict]) -> str:
    head = ("fault", "sent", "accepted", "lost", "dupl.", "unrouted", "only absent", "double OOO",
            "routed after s (target)", "restarts w/b (by itself)", "away, routed after end",
            "forwarded / OOO", "")  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        after = "never" if r["routed_after_s"] is None else f"{r['routed_after_s']}"
        target = "" if r["target_s"] is None else f" (<= {r['target_s']:.0f})"
        worker, beat = r["worker_restarts"], r["beat_restarts"]
        restarts_cell = f"{sum(worker)}/{sum(beat)} ({worker[1]}/{beat[1]})"
        verdict = ", ".join(missed(r)) or "ok"
        counts = [r[k] for k in ("sent", "accepted", "lost", "duplicated", "unrouted", "only_absent")]
        back = r["written_away_routed_back"]
        exercised = f"{r['forwarded']} / {r['auto_replies']}"
        cells = (
            r["fault"],
            *counts,
            r["double_replies"],
            after + target,
            restarts_cell,
            back,
            exercised,
            verdict,
        )
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--short", action="store_true", help="10 s outages and fewer kills (about 4 min)")
    parser.add_argument("--keep", action="store_true", help="keep the servers' folder (logs, data)")
    args = parser.parse_args(argv)
    settings = Settings.short() if args.short else Settings()
    missing = [b for b in ("initdb", "pg_ctl", "redis-server", "redis-cli", "su") if not shutil.which(b)]
    if os.geteuid() != 0 or missing:
        need = "make chaos runs initdb as the postgres user, so it needs root, and PostgreSQL's and Redis's"
        print(f"{need}\nserver programs on PATH (missing: {', '.join(missing) or 'none'}).", file=sys.stderr)
        return 2
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    folder = Path(tempfile.mkdtemp(prefix="lifemsg-chaos-"))
    logs = RESULTS / f"chaos-{stamp}"
    logs.mkdir(parents=True)
    folder.chmod(0o755)
    var = folder / "var"  # beat's schedule file, attachments
    var.mkdir()
    postgres = redis = None
    try:
        postgres, redis = Postgres(folder / "pg"), Redis(folder)
        say(f"PostgreSQL on 127.0.0.1:{postgres.port}, Redis on 127.0.0.1:{redis.port}; logs in {logs}")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "lifemsg.settings.chaos",
            "DATABASE_URL": postgres.url,
            "REDIS_URL": redis.url,
            "SECRET_KEY": "chaos-run-only-" + os.urandom(32).hex(),
            "ACCESS_LOG_HMAC_KEY": "chaos-access-log-" + os.urandom(32).hex(),
            "LIFEMSG_VAR_DIR": str(var),
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
        os.environ.update(env)
        return _run(settings, postgres, redis, env, logs, stamp)
    finally:
        for server in (redis, postgres):
            if server is not None:
                server.close()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def _run(settings: Settings, postgres: Postgres, redis: Redis, env: dict, logs: Path, stamp: str) -> int:
    import django

    django.setup()
    from django.core.management import call_command

    from . import ledger
    from .citizens import Poster, log_in

    postgres.create_database()
    call_command("migrate", verbosity=0)
    keys: dict[int, str] = {}
    citizens, ending = prepare(keys)
    since_id = ledger.max_message_id()
    say(f"seeded: {len(citizens)} citizens, {sum(c.away_handler for c in citizens)} with a handler away")
    processes = Processes(logs, env)
    try:
        processes.start()
        log_in(citizens, processes.url, keys)
        say(f"gunicorn on {processes.url}, worker and beat running")
        poster = Poster(citizens, processes.url, threads=8)
        stage = Stage(
            poster,
            processes,
            redis,
            postgres,
            settings,
            end_absence(ending),
            ending.handler_id,
            random.Random(18),
        )
        rows = run_faults(stage, since_id)
        lost = ledger.final_lost({row["fault"]: poster.of(row["fault"]) for row in rows}, since_id)
        for row in rows:
            row["lost"] = lost[row["fault"]]
        poster.close()
    finally:
        processes.close()
    print()
    print(table(rows))
    (RESULTS / f"chaos-{stamp}.json").write_text(
        json.dumps({"settings": asdict(settings), "faults": rows}, indent=2)
    )
    failures = [f"{r['fault']}: {', '.join(missed(r))}" for r in rows if missed(r)]
    print("\n" + ("every target met" if not failures else "MISSED: " + "; ".join(failures)))
    print(f"logs: {logs.relative_to(ROOT)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
