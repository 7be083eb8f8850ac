"""A paginator for lists whose every row is read anyway to find the first page: a search, where each
hit is found and sorted before the page is cut. Django's Paginator first counts (a second run of the
whole search) and then reads the page; this one reads the page with the count beside each row
(COUNT(*) OVER (), worked out before LIMIT), in one query.

Pages are Django's own, and so is every answer: a page number that is not a whole number gives the
first page, one below 1 or past the end gives the last (those, and an empty list, are counted by
Django's Paginator as before). Not for lists a page of which an index can cut without reading the
rest (a mailbox's newest threads): there the count is the cheaper query."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import Count, Window

_TOTAL = "_paginator_total"


class CountingPaginator(Paginator):
    def get_page(self, number) -> Page:
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            number = 1  # Django's answer to a page number that is not a whole one (or none)
        if number < 1:  # Django's answer is the last page: counted first
            return super().get_page(number)
        bottom = (number - 1) * self.per_page
        # per_page + orphans rows: enough to tell whether the orphans join this page.
        rows = list(
            self.object_list.annotate(**{_TOTAL: Window(Count("*"))})[
                bottom : bottom + self.per_page + self.orphans
            ]
        )
        if not rows:  # past the end, or nothing at all: Django's answer (it counts)
            return super().get_page(number)
        self.count = getattr(rows[0], _TOTAL)  # Paginator.count is a cached_property
        if number > self.num_pages:  # a last page's orphans, asked for as a page of their own
            return super().get_page(number)  # Django's last page (counted already)
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self._get_page(rows[: top - bottom], number, self)
