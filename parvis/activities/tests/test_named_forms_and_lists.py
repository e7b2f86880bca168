"""Accessibility in the details (issue 24 §2, found by HTML_CodeSniffer and IBM Equal Access): a
form that stands for itself has a name (the language choice, « Déconnexion »), and links side by
side are a list (the « Activités » page)."""

import re

import pytest

from parvis.activities.tests import test_views as base
from parvis.activities.tests.test_views import url
from parvis.testing.guichet import make_agent

pytestmark = pytest.mark.django_db

clock, family, logged = base.clock, base.family, base.logged


def form_tags(html: str) -> dict[str, str]:
    """Each <form> opening tag of `html`, by its action."""
    return {
        re.search(r'action="([^"]*)"', tag)[1]: tag
        for tag in re.findall(r"<form\b[^>]*>", html)
        if 'action="' in tag
    }


def test_the_language_and_logout_forms_of_a_citizens_page_are_named(logged, family):
    forms = form_tags(logged.get(url("index", family)).content.decode())
    assert 'aria-label="Choix de la langue"' in forms["/i18n/setlang/"]
    logout = next(tag for action, tag in forms.items() if action.endswith("/deconnexion/"))
    assert 'aria-label="Déconnexion"' in logout


def test_the_logout_form_of_the_guichet_is_named(client, family):
    commune = family["commune"]
    client.force_login(make_agent(commune))
    html = client.get(f"/{commune.slug}/guichet/").content.decode()
    logout = form_tags(html)[f"/{commune.slug}/guichet/deconnexion/"]
    assert 'aria-label="Déconnexion"' in logout


def test_the_activities_page_gives_its_links_as_a_list(logged, family):
    html = logged.get(url("index", family)).content.decode()
    buttons = re.search(r'<ul class="button-list">(.*?)</ul>', html, re.S)
    assert buttons is not None
    items = re.findall(r"<li>\s*<a [^>]*>([^<]+)</a>\s*</li>", buttons[1])
    assert items == [
        "Modifier les réservations",
        "Toutes les réservations du foyer",
        "Inscrire un enfant à une activité",
    ]
