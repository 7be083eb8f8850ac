from __future__ import annotations

import pytest

from tests import factories
from tests.mailboxes.conftest import citizen_writes


@pytest.fixture
def case_a(org):
    """A case in unit A handled by handler_a1, with one message from the citizen, routed."""
    case = factories.case(
        eservice_obj=org.eservice_a,
        handler=org.handler_a1,
        citizen_obj=factories.citizen("Greta", "Medborgarsson"),
        subject="Ansökan om stöd",
    )
    citizen_writes(case, body="Hej, jag har en fråga om mitt ärende.")
    return case
