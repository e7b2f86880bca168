"""The frame's fixed addresses (base.html): its static files and the pages every visitor's frame
links to, worked out once per process for a script prefix and URL configuration instead of on
every page (issue 23, the per-request floor: `{% static %}` costs about 16 µs, `{% url %}` 23 µs,
a cached one about 5). Only what the settings, the static manifest and the URL configuration
decide is kept: nothing of a request, a visitor or the data.

`{% frame_once name=value … %}…{% frame_done %}`: the fixed parts of the frame (links, texts
to translate, the language list) painted once per process for the values they are given, the
language, the script prefix and the URL configuration, then given back as painted (about 0.6 ms
a page for the whole frame, of which its `{% translate %}` and loops are most). The part is
painted in a context holding only its named values (a name it does not list is empty there:
nothing of the request, the visitor or the page can slip in), and the values themselves are the
key: a commune's new name or address is a new key, seen at once.

`{% frame %}…{% endframe %}` around base.html's body: its blocks found once per compiled
template. `{% extends "base.html" %}` looks for the root's blocks on every page by walking its
whole tree of nodes (Django's ExtendsNode.render: about 60 µs a page); a compiled template's
nodes never change, so the walk's answer is kept on the node."""

import dataclasses
from datetime import date
from functools import lru_cache

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from parvis.communes.painted import PaintedOnce

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


# What frame_once keeps: painted parts by key (communes.painted).
_PAINTED = PaintedOnce(8192)
# The values a part may be keyed on: plain ones, compared by value (a lazy text by its text in
# the language of the key), and tuples of plain values or of frozen dataclasses holding only
# plain values (the navigation's entries). Anything else (a list, a queryset, a user…) paints
# the part every time.
_PLAIN = (str, int, float, bool, type(None))


class FrameOnceNode(template.Node):
    def __init__(self, nodelist, values: dict):
        self.nodelist, self.values = nodelist, values

    def render(self, context) -> str:
        values = {name: value.resolve(context) for name, value in self.values.items()}
        key = _painted_key(self, values, context.autoescape)
        painted = _PAINTED.get(key) if key is not None else None
        if painted is None:
            # Only its own values: nothing of the request, the visitor or the page.
            painted = mark_safe(self.nodelist.render(context.new(values)))
            if key is not None:
                _PAINTED.keep(key, painted)
        return painted


def _item_key(item):
    """A tuple item's part of the key: a plain value with its type, or a frozen dataclass's
    instance with each field's value and type (every field in its equality: a field left out
    of it could differ between two entries taken as one); None for anything else."""
    if isinstance(item, _PLAIN):
        return (type(item), item)
    params = getattr(type(item), "__dataclass_params__", None)
    if params is None or not (params.frozen and params.eq):
        return None
    fields = []
    for field in dataclasses.fields(item):
        value = getattr(item, field.name)
        if not field.compare or not isinstance(value, _PLAIN):
            return None
        fields.append((type(value), value))
    return (type(item), tuple(fields))


def _painted_key(node, values: dict, autoescape: bool) -> tuple | None:
    parts = []
    for name, value in values.items():
        if isinstance(value, Promise):
            value = str(value)
        elif type(value) is tuple:
            value = tuple(_item_key(item) for item in value)
            if None in value:
                return None
        elif not isinstance(value, _PLAIN):
            return None
        parts.append((name, type(value), value))
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    return (node, get_language(), get_script_prefix(), urlconf, autoescape, *parts)


@register.tag
def frame_once(parser, token):
    """`{% frame_once name=value … %}…{% frame_done %}`: the part painted once for these
    values (and the language, script prefix and URL configuration), in a context holding only
    them."""
    bits = token.split_contents()[1:]
    values = template.base.token_kwargs(bits, parser, support_legacy=False)
    if bits:
        raise template.TemplateSyntaxError("frame_once ne prend que des valeurs nommées (a=b).")
    nodelist = parser.parse(("frame_done",))
    parser.delete_first_token()
    return FrameOnceNode(nodelist, values)


class FrameYearNode(template.Node):
    def render(self, context) -> str:
        year = timezone.localdate().year if settings.USE_TZ else date.today().year
        return "%04d" % year  # noqa: UP031 (the « Y » of Django's date format, word for word)


@register.tag
def frame_year(parser, token):
    """`{% frame_year %}`: `{% now "Y" %}` (this year, in the current time zone), without the
    date format's machinery (its formats looked up by language: about 60 µs a page)."""
    if len(token.split_contents()) != 1:
        raise template.TemplateSyntaxError("frame_year ne prend pas d'argument.")
    return FrameYearNode()


class FrameBlocksNode(template.Node):
    def __init__(self, nodelist):
        self.nodelist = nodelist
        self._found: dict[type, list] = {}

    def render(self, context) -> str:
        return self.nodelist.render(context)

    def get_nodes_by_type(self, nodetype):
        found = self._found.get(nodetype)
        if found is None:
            found = self._found[nodetype] = super().get_nodes_by_type(nodetype)
        return list(found)  # the caller's own list: the one kept is never touched


@register.tag
def frame(parser, token):
    """`{% frame %}…{% endframe %}`: the part rendered as it is, its nodes of a type (the
    blocks `{% extends %}` looks for) found once."""
    if len(token.split_contents()) != 1:
        raise template.TemplateSyntaxError("frame ne prend pas d'argument.")
    nodelist = parser.parse(("endframe",))
    parser.delete_first_token()
    return FrameBlocksNode(nodelist)


@receiver(setting_changed)
def _forget(setting, **kwargs):
    """A test's other static storage or address: the next page works them out again."""
    if setting.startswith("STATIC") or setting == "STORAGES":
        _static.cache_clear()
    if setting == "ROOT_URLCONF":
        _url.cache_clear()
    # The painted parts: emptied by communes.painted at any setting changed.
