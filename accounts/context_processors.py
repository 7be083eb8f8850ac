from django.conf import settings

from .idle import idle_seconds_for
from .roles import ALL_ROLES, ROLE_LABELS, user_group_names


def roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    idle = idle_seconds_for(user)
    warning = min(settings.SESSION_IDLE_WARNING_SECONDS, idle // 2)
    context = {
        "idle_seconds": idle,
        "idle_warning_seconds": warning,
        "idle_warning_minutes": max(1, warning // 60),
    }
    if not user.is_citizen:
        names = [n for n in user_group_names(user) if n in ALL_ROLES]
        context["user_roles"] = [ROLE_LABELS[n] for n in names]
    return context
