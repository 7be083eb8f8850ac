from django.http import Http404

from .models import Case

SEND_PERM = "eservices.send_to_citizen"


def can_send_to_citizen(*, user, case: Case) -> bool:
    """Only the case's handler and co-handlers (granted through django-guardian by case_assign)."""
    return user.is_authenticated and not user.is_citizen and user.has_perm(SEND_PERM, case)


def access_citizen_case(*, user, case_id: int) -> Case:
    """A citizen's own case, or 404 alike for missing and someone else's."""
    case = (
        Case.objects.select_related("eservice", "unit", "thread", "handler")
        .filter(pk=case_id, citizen__user=user)
        .first()
    )
    if case is None:
        raise Http404
    return case
