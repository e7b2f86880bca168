"""{% frame_once %} (parvis_frame): the frame's fixed parts painted once per language, script
prefix and URL configuration for the values they are given, in a context holding only them: a
commune's change is seen at once, nothing of a request or a visitor is kept."""

import dataclasses

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation

from parvis.communes.tests.factories import CommuneFactory
from parvis.portal.navigation import NavEntry
from parvis.portal.templatetags import parvis_frame

PART = "{% load i18n parvis_frame %}{% frame_once name=name %}"


@pytest.fixture(autouse=True)
def fresh():
    parvis_frame._PAINTED.clear()
    yield
    parvis_frame._PAINTED.clear()


def test_a_part_is_painted_once_then_given_back_for_the_same_values():
    template = Template(PART + "<b>{{ name }}</b>{% frame_done %}")
    assert template.render(Context({"name": "Plancher"})) == "<b>Plancher</b>"
    (key,) = parvis_frame._PAINTED
    parvis_frame._PAINTED[key] = "kept"
    assert template.render(Context({"name": "Plancher"})) == "kept"
    # Other values: painted again (a commune renamed is seen at once).
    assert template.render(Context({"name": "Plafond"})) == "<b>Plafond</b>"


def test_a_part_sees_only_its_own_values():
    template = Template(PART + "{{ name }}|{{ user }}|{{ csrf_token }}{% frame_done %}")
    context = Context({"name": "Plancher", "user": "Aline", "csrf_token": "secret"})
    assert template.render(context) == "Plancher||"


def test_a_part_is_painted_again_in_another_language():
    template = Template(PART + '{% translate "Plan du site" %}{% frame_done %}')
    with translation.override("fr"):
        assert template.render(Context({"name": ""})) == "Plan du site"
    with translation.override("en"):
        assert template.render(Context({"name": ""})) == "Site map"
    with translation.override("fr"):
        assert template.render(Context({"name": ""})) == "Plan du site"


def test_escaping_is_part_of_the_key():
    text = PART + "{{ name }}{% frame_done %}"
    assert Template(text).render(Context({"name": "<i>"})) == "&lt;i&gt;"
    unescaped = Template(text).render(Context({"name": "<i>"}, autoescape=False))
    assert unescaped == "<i>"


def test_a_value_that_is_not_plain_is_painted_every_time():
    template = Template(PART + "{{ name.0 }}{% frame_done %}")
    assert template.render(Context({"name": ["a"]})) == "a"
    assert template.render(Context({"name": ["b"]})) == "b"
    assert not parvis_frame._PAINTED


def test_only_named_values():
    with pytest.raises(TemplateSyntaxError):
        Template("{% load parvis_frame %}{% frame_once commune %}{% frame_done %}")


def test_a_settings_change_forgets_the_painted_parts():
    Template(PART + "x{% frame_done %}").render(Context({"name": ""}))
    with override_settings(LANGUAGES=[("fr", "Français")]):
        assert not parvis_frame._PAINTED


@pytest.mark.django_db
def test_the_footer_follows_the_communes_changes_and_the_language():
    commune = CommuneFactory(slug="pied", website="https://avant.example")
    url = reverse("accounts:connexion", kwargs={"commune": "pied"})
    client = Client()
    assert 'href="https://avant.example"' in client.get(url).content.decode()
    commune.website = "https://apres.example"
    commune.save()
    page = client.get(url).content.decode()
    assert 'href="https://apres.example"' in page
    assert "avant.example" not in page
    assert "Mentions légales" in page
    assert '<option value="fr"' in page and "selected" in page.split('value="fr"')[1][:80]
    client.cookies["django_language"] = "en"
    page = client.get(url).content.decode()
    assert "Legal notice" in page or "Mentions légales" not in page
    assert "selected" in page.split('value="en"')[1][:80]
    assert "selected" not in page.split('value="fr"')[1][:80]


@dataclasses.dataclass(frozen=True)
class Frozen:
    name: str


@dataclasses.dataclass
class Thawed:
    name: str


@dataclasses.dataclass(frozen=True)
class Hidden:
    name: str
    shown: str = dataclasses.field(compare=False)


def test_a_tuple_of_frozen_plain_entries_is_a_key():
    template = Template(
        PART + "{% for entry in name %}{{ entry.name }}{% endfor %}{% frame_done %}"
    )
    assert template.render(Context({"name": (Frozen("a"), Frozen("b"))})) == "ab"
    (key,) = parvis_frame._PAINTED
    parvis_frame._PAINTED[key] = "kept"
    assert template.render(Context({"name": (Frozen("a"), Frozen("b"))})) == "kept"
    # Other entries (a label or an address changed): painted again.
    assert template.render(Context({"name": (Frozen("a"), Frozen("c"))})) == "ac"


@pytest.mark.parametrize(
    "entries",
    [
        [Frozen("a")],  # a list may change after being painted
        (Thawed("a"),),  # so may an entry that is not frozen
        (Frozen(["a"]),),  # or a frozen one holding something that is not plain
        ((Frozen("a"),),),  # nested tuples are not looked into
        (Hidden("a", "b"),),  # nor a field left out of equality (two entries taken as one)
    ],
)
def test_entries_that_may_change_are_painted_every_time(entries):
    template = Template(PART + "x{% frame_done %}")
    assert template.render(Context({"name": entries})) == "x"
    assert not parvis_frame._PAINTED


def test_entries_equal_but_of_other_types_are_other_keys():
    # True == 1 and Frozen(True) == Frozen(1): each painted with its own value (review R2).
    template = Template(PART + "{% for entry in name %}{{ entry }}{% endfor %}{% frame_done %}")
    assert template.render(Context({"name": (True,)})) == "True"
    assert template.render(Context({"name": (1,)})) == "1"
    frozen = Template(PART + "{% for entry in name %}{{ entry.name }}{% endfor %}{% frame_done %}")
    assert frozen.render(Context({"name": (Frozen(True),)})) == "True"
    assert frozen.render(Context({"name": (Frozen(1),)})) == "1"


NAV = 'aria-current="page">{}</a>'


@pytest.mark.django_db
def test_the_navigation_marks_each_page_its_own_entry_once_painted():
    CommuneFactory(slug="nav")
    client = Client()
    news = client.get(reverse("portal:actualites", kwargs={"commune": "nav"})).content.decode()
    info = client.get(reverse("portal:infos_pratiques", kwargs={"commune": "nav"})).content
    again = client.get(reverse("portal:actualites", kwargs={"commune": "nav"})).content.decode()
    assert news.count('aria-current="page"') == 1 and NAV.format("Actualités") in news
    assert info.decode().count('aria-current="page"') == 1
    assert NAV.format("Infos pratiques") in info.decode()
    assert again.count('aria-current="page"') == 1 and NAV.format("Actualités") in again
    # The page's section (a démarche's pages mark « Nouvelle démarche »).
    template = Template(
        "{% extends 'base.html' %}{% block content %}{% endblock %}"
    )  # the frame alone, with the context a page would give it
    entries = (
        NavEntry("portal:actualites", "Actualités", "/nav/actualites/"),
        NavEntry("demarches:catalogue", "Nouvelle démarche", "/nav/demarches/"),
    )
    html = template.render(
        Context(
            {
                "nav_entries": entries,
                "current_url_name": "",
                "current_section": "demarches:catalogue",
            }
        )
    )
    assert html.count('aria-current="page"') == 1 and NAV.format("Nouvelle démarche") in html
    html = template.render(
        Context({"nav_entries": entries, "current_url_name": "portal:actualites"})
    )
    assert html.count('aria-current="page"') == 1 and NAV.format("Actualités") in html
