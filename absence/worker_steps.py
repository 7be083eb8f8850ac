"""A worker that got its broker back routes every message that waits, at once.

Celery stops the consumer's steps when the broker connection is lost and starts them again once it
is back. The routing tasks the broker held may be gone by then: a task the worker had received but
not acknowledged is restored to the broker only if the broker answers at that moment, and a Redis
restarted without its data has none of them. Messages stored meanwhile found no broker to publish
to. The next citizen message's task takes along the recent ones (route_messages' batch mates) and
the sweep the older ones a minute later; this step does not wait for either: on every start of the
consumer after the first it queues a sweep of every waiting message, whatever its age. Routing is
idempotent, so a message that another task routes meanwhile is left alone.
"""

from __future__ import annotations

import logging

from celery import bootsteps

from .tasks import sweep

logger = logging.getLogger(__name__)


class RouteWaitingAfterReconnect(bootsteps.StartStopStep):
    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent, **kwargs):
        self.starts = 0
        super().__init__(parent, **kwargs)

    def start(self, c) -> None:
        self.starts += 1
        if self.starts == 1:
            return  # the worker's first connection: beat's sweep covers what an earlier worker left
        try:
            sweep.apply_async(kwargs={"age_seconds": 0})
        except Exception:  # the broker went again: the next start tries again
            logger.warning("could not queue routing of the waiting messages after reconnecting")
        else:
            logger.info("broker connection back: routing every waiting message")
