"""Who is at the other end of a request, behind the reverse proxies the operator trusts.

Every per-address limit (logins, sign-ups, tracking, service keys, payment notifications) counts
by `client_ip`. Behind a proxy REMOTE_ADDR is the proxy, so without this every visitor would share
one address and 30 failures anywhere would lock every commune out. Headers are believed only
from the proxies listed in PARVIS_TRUSTED_PROXIES: anyone else can write them.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# A chain longer than this is not a real one: the walk stops there (the rest is ignored).
MAX_HOPS = 20


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as error:
            raise ImproperlyConfigured(
                f"PARVIS_TRUSTED_PROXIES contient « {entry} », qui n'est ni une adresse IP ni "
                "un réseau (par exemple 10.0.0.5 ou 10.0.0.0/24)."
            ) from error
    return tuple(networks)


def trusted_networks() -> tuple:
    return _networks(tuple(settings.PARVIS_TRUSTED_PROXIES))


def parse_ip(value: str) -> str | None:
    """The address in its canonical form, or None for anything that is not one (a port, a
    name, « unknown », brackets and garbage included)."""
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket (::ffff:1.2.3.4) is that IPv4 client.
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def is_trusted_proxy(address: str | None) -> bool:
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in trusted_networks())


def client_ip(request) -> str | None:
    """The visitor's address: REMOTE_ADDR, unless it is a trusted proxy; then X-Forwarded-For
    is walked from the right (the entries our own proxies appended) past every trusted proxy,
    and the first other address is the client. A malformed entry stops the walk at the last
    address known good: whoever wrote it is not trusted."""
    address = parse_ip(request.META.get("REMOTE_ADDR") or "")
    if not is_trusted_proxy(address):
        return address
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop for hop in header.split(",") if hop.strip()][-MAX_HOPS:]
    for hop in reversed(hops):
        forwarded = parse_ip(hop)
        if forwarded is None:
            return address
        address = forwarded
        if not is_trusted_proxy(address):
            return address
    # Every entry was one of our proxies (a health check from inside, say): the leftmost.
    return address


def forwarded_https(request) -> bool:
    """Whether a trusted proxy says the browser spoke HTTPS to it (X-Forwarded-Proto)."""
    address = parse_ip(request.META.get("REMOTE_ADDR") or "")
    if not is_trusted_proxy(address):
        return False
    proto = request.META.get("HTTP_X_FORWARDED_PROTO", "")
    # Several proxies may each append theirs: the nearest one (rightmost) speaks for the chain.
    return proto.split(",")[-1].strip().lower() == "https"


class TrustedProxyMiddleware:
    """Django's SECURE_PROXY_SSL_HEADER believes X-Forwarded-Proto from anyone: a client reaching
    the application directly could claim HTTPS (and get Secure-only behaviour over plain HTTP).
    Here the header counts only from a trusted proxy. Placed first, before SecurityMiddleware's
    HTTPS redirect reads request.is_secure()."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if forwarded_https(request):
            # What WSGIRequest.scheme reads when no proxy header is configured.
            request.META["wsgi.url_scheme"] = "https"
        return self.get_response(request)
