"""The frame's fixed addresses (base.html): its static files and the pages every visitor's frame
links to, worked out once per process for a script prefix and URL configuration instead of on
every page (issue 23, the per-request floor: `{% static %}` costs about 16 µs, `{% url %}` 23 µs,
a cached one about 5). Only what the settings, the static manifest and the URL configuration
decide is kept: nothing of a request, a visitor or the data."""

from functools import lru_cache

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()


class FrameNode(template.Node):
    """The address of a literal name, as the standard tag would render it (escaped)."""

    def __init__(self, address, name: str):
        self.address, self.name = address, name

    def render(self, context) -> str:
        value = self.address(self.name)
        return conditional_escape(value) if context.autoescape else value


def literal_argument(parser, token) -> str:
    bits = token.split_contents()
    if len(bits) != 2 or bits[1][:1] not in "'\"" or bits[1][0] != bits[1][-1]:
        raise template.TemplateSyntaxError(f"{bits[0]} prend un seul nom entre guillemets.")
    return bits[1][1:-1]


@register.tag
def frame_static(parser, token):
    """`{% frame_static 'path' %}`: `{% static 'path' %}`, the same address."""
    return FrameNode(static_address, literal_argument(parser, token))


@register.tag
def frame_url(parser, token):
    """`{% frame_url 'name' %}`: `{% url 'name' %}` of a page without arguments, the same."""
    return FrameNode(url_address, literal_argument(parser, token))


def static_address(path: str) -> str:
    return _static(path, get_script_prefix())


def url_address(name: str) -> str:
    return _url(name, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


@lru_cache(maxsize=256)
def _static(path: str, _prefix: str) -> str:
    return static(path)


@lru_cache(maxsize=256)
def _url(name: str, _prefix: str, _urlconf) -> str:
    return reverse(name)


@receiver(setting_changed)
def _forget(setting, **kwargs):
    """A test's other static storage or address: the next page works them out again."""
    if setting.startswith("STATIC") or setting == "STORAGES":
        _static.cache_clear()
    if setting == "ROOT_URLCONF":
        _url.cache_clear()
