"""Links inside a commune's portal: to pages that may not exist yet, and back from a login."""

from urllib.parse import unquote, urlsplit

from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme


def url_if_exists(url_name: str, commune_slug: str, **kwargs) -> str | None:
    """The page's address, or None while no issue has built it: pages link to what exists."""
    try:
        return reverse(url_name, kwargs={"commune": commune_slug, **kwargs})
    except NoReverseMatch:
        return None


def safe_next(request, url: str | None, *, within: str | None = None) -> str | None:
    """`url` if it is a path of this site under `within` (default: the current commune), else
    None: no open redirect, and no jump into another commune's pages after a login."""
    within = within or f"/{request.commune.slug}/"
    if not url or not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None
    decoded = unquote(parts.path)
    if "\\" in decoded or not decoded.startswith(within):
        return None
    if any(segment in (".", "..") for segment in decoded.split("/")):
        return None
    return url
