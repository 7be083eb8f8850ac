import pytest

from audit.models import AccessLogEntry
from audit.services import access_log_record
from tests import factories


@pytest.fixture
def case_a(org):
    """A case in unit A handled by handler_a1."""
    citizen = factories.citizen("Maja", "Lind")
    return factories.case(citizen_obj=citizen, eservice_obj=org.eservice_a, handler=org.handler_a1)


def read_thread(
    user,
    case,
    *,
    route=AccessLogEntry.Route.OWN_MAILBOX,
    action=AccessLogEntry.Action.READ_THREAD,
):
    return access_log_record(
        user=user,
        action=action,
        route=route,
        object_type="thread",
        object_id=case.thread_id,
        thread_id=case.thread_id,
    )
