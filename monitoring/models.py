"""What the Celery processes report, kept in the database: every process (web, worker, beat, `make run`'s
SQLite trial without Redis) reads and writes it the same way, it survives a Redis restart (so the
sweep's totals never go back), and a worker or beat that cannot reach the database is rightly seen as
not alive. The tables are tiny: one row per worker host name and one for beat, one row of totals."""

from django.db import models


class Heartbeat(models.Model):
    """The last sign of life of one Celery process. A worker's row is written every
    LIVENESS_HEARTBEAT_SECONDS while it is connected to the broker (`seen_at`) and when it finishes a
    task (`task_finished_at`, at most as often); beat's when its scheduler loop runs."""

    class Component(models.TextChoices):
        WORKER = "worker"
        BEAT = "beat"

    component = models.CharField(max_length=10, choices=Component.choices)
    # The worker's node name (celery@host), or beat's host name.
    name = models.CharField(max_length=255)
    seen_at = models.DateTimeField()
    task_finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["component", "name"], name="heartbeat_unique_process")]

    def __str__(self) -> str:
        return f"{self.component} {self.name} {self.seen_at:%Y-%m-%d %H:%M:%S}"


class SweepTotals(models.Model):
    """Running totals of the routing sweep (absence.tasks.sweep), one row: Prometheus counters that
    every web process reports alike and that no restart resets."""

    runs = models.PositiveBigIntegerField(default=0)
    # Messages a lost routing task had left unrouted, which the sweep routed.
    routed = models.PositiveBigIntegerField(default=0)
    # Messages the sweep could not route (retried by the next run).
    failed = models.PositiveBigIntegerField(default=0)
    # Unread messages left only with absent handlers, which the sweep forwarded.
    forwarded = models.PositiveBigIntegerField(default=0)
    last_finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sweep: {self.runs} runs"
