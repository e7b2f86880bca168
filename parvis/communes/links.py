"""Links inside a commune's portal: to pages that may not exist yet, and back from a login."""

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.http import url_has_allowed_host_and_scheme


def url_if_exists(url_name: str, commune_slug: str, **kwargs) -> str | None:
    """The page's address, or None while no issue has built it: pages link to what exists."""
    try:
        return reverse(url_name, kwargs={"commune": commune_slug, **kwargs})
    except NoReverseMatch:
        return None


def urls_if_exist(
    pages: tuple[tuple[str, str], ...], commune_slug: str
) -> Mapping[str, str | None]:
    """For each (key, URL name) of `pages`, the key and `url_if_exists` of the name; worked out
    once per process for a commune, script prefix and URL configuration: addresses depend on
    nothing else, so every process and machine works out the same ones (a page's frame would
    reverse ten of them on every request)."""
    return _urls(pages, commune_slug, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


@lru_cache(maxsize=4096)
def _urls(pages, commune_slug, _prefix, _urlconf) -> Mapping[str, str | None]:
    return MappingProxyType({key: url_if_exists(name, commune_slug) for key, name in pages})


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
