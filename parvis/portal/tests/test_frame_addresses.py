"""The frame's fixed addresses (parvis_frame): the same as `{% static %}` and `{% url %}`, worked
out once per process, again after a change of the settings or under another script prefix."""

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.test import override_settings
from django.urls import set_script_prefix

from parvis.portal.templatetags import parvis_frame

STATIC = ("parvis/favicon.svg", "parvis/parvis.css", "parvis/menu.js", "parvis/affichage.css")
URLS = ("set_language", "portal:communes", "portal:affichage_plateforme")


def render(text: str) -> str:
    return Template(text).render(Context({}))


@pytest.mark.parametrize("path", STATIC)
def test_frame_static_is_the_static_tags_address(path):
    expected = render(f"{{% load static %}}{{% static '{path}' %}}")
    assert render(f"{{% load parvis_frame %}}{{% frame_static '{path}' %}}") == expected


@pytest.mark.parametrize("name", URLS)
def test_frame_url_is_the_url_tags_address(name):
    expected = render(f"{{% url '{name}' %}}")
    assert render(f"{{% load parvis_frame %}}{{% frame_url '{name}' %}}") == expected


def test_worked_out_once(monkeypatch):
    render(
        "{% load parvis_frame %}{% frame_url 'set_language' %}{% frame_static 'parvis/menu.js' %}"
    )
    calls = []
    monkeypatch.setattr(parvis_frame, "reverse", lambda name: calls.append(name))
    monkeypatch.setattr(parvis_frame, "static", lambda path: calls.append(path))
    template = Template(
        "{% load parvis_frame %}{% frame_url 'set_language' %}{% frame_static 'parvis/menu.js' %}"
    )
    for _ in range(3):
        assert template.render(Context({})) == render(
            "{% load static %}{% url 'set_language' %}{% static 'parvis/menu.js' %}"
        )
    assert calls == []


def test_another_static_url_or_script_prefix_is_seen():
    tag = (
        "{% load parvis_frame %}{% frame_static 'parvis/menu.js' %}|{% frame_url 'set_language' %}"
    )
    before = render(tag)
    with override_settings(STATIC_URL="/ailleurs/"):
        assert render(tag).startswith("/ailleurs/parvis/menu.")
    assert render(tag) == before
    set_script_prefix("/sous-chemin/")
    try:
        assert render(tag).endswith("|/sous-chemin/i18n/setlang/")
    finally:
        set_script_prefix("/")
    assert render(tag) == before


def test_only_a_quoted_name():
    with pytest.raises(TemplateSyntaxError):
        Template("{% load parvis_frame %}{% frame_url name %}")
    with pytest.raises(TemplateSyntaxError):
        Template("{% load parvis_frame %}{% frame_static 'a' 'b' %}")
