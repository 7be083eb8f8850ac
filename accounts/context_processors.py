from .roles import ALL_ROLES, ROLE_LABELS


def roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.is_citizen:
        return {}
    names = [g.name for g in user.groups.all() if g.name in ALL_ROLES]
    return {"user_roles": [ROLE_LABELS[n] for n in names]}
