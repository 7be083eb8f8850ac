"""The client's address as the trusted reverse proxies saw it (django-axes' AXES_CLIENT_IP_CALLABLE).

Behind the proxy, REMOTE_ADDR is the proxy: counting login failures by it would let anyone lock any
colleague out. Each proxy appends the address it was connected from to X-Forwarded-For, so with
TRUSTED_PROXY_COUNT proxies the client is that many entries from the right; what lies further left
came from the client and is never trusted. python-ipware picks the entry. django-ipware, which axes
would call itself, asks python-ipware for an exact hop count ("strict"), so one extra entry sent by
the client or a corporate forward proxy would send that client back to the proxy's shared address:
the very lockout this avoids. Hence the non-strict call here.

Without proxies (TRUSTED_PROXY_COUNT=0) the header is ignored. With TRUSTED_PROXY_IPS set, it is
read only from a request that came from one of them."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from python_ipware import IpWare

HEADER = "HTTP_X_FORWARDED_FOR"


@lru_cache(maxsize=8)
def _ipware(proxies: int) -> IpWare:
    # python-ipware's proxy_count counts the hops listed after the client: the last proxy is the
    # connection itself (REMOTE_ADDR), not an entry.
    return IpWare(precedence=(HEADER,), leftmost=True, proxy_count=proxies - 1)


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _from_trusted_proxy(remote: str | None) -> bool:
    trusted = tuple(settings.TRUSTED_PROXY_IPS)
    if not trusted:
        return True  # the application is reachable only through the proxy (see README)
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    return any(address in network for network in _networks(trusted))


def client_ip(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0 or not _from_trusted_proxy(remote):
        return remote
    address, _trusted_route = _ipware(proxies).get_client_ip(request.META, strict=False)
    return str(address) if address is not None else remote
