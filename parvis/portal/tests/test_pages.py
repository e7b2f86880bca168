"""Public pages of a commune, with the seed's data and words."""

import re
from datetime import datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from parvis.communes.models import Commune
from parvis.communes.tests.factories import (
    ActualiteFactory,
    ClosureFactory,
    CommuneFactory,
    OpeningRangeFactory,
    ServiceFactory,
)

PARIS = ZoneInfo("Europe/Paris")
CSP = "carrieres-sous-poissy"
MONDAY_10H = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    """The visible text of a page, whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'")


class LinkParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "form" and attrs.get("action"):
            self.links.append(attrs["action"])


def test_home_shows_the_town_hall_and_latest_news(client, demo_communes):
    with time_machine.travel(MONDAY_10H, tick=False):
        response = client.get(f"/{CSP}/")
    assert response.status_code == 200
    text = text_of(response)
    assert "Carrières-sous-Poissy" in text
    assert "1, place Saint-Blaise" in text
    assert "01 39 22 36 00" in text
    assert "Ouvert maintenant — ferme à 12h00" in text
    # The three latest published news items, newest first; the expired one never.
    titles = [item.title for item in response.context["latest_news"]]
    assert titles == [
        "La Régie centrale fermée du 28 au 31 décembre",
        "Payez vos factures en ligne",
        "Recensement citoyen : dès 16 ans",
    ]
    assert "Fête de la ville 2026" not in text


def test_home_offers_the_seeds_entry_points_and_only_those_that_exist(client, demo_communes):
    response = client.get(f"/{CSP}/")
    text = text_of(response)
    for words in (
        "Accéder au portail",
        "Mon espace perso",
        "Identifiant",
        "Mot de passe",
        "J'ai oublié mon mot de passe",
        "Je n'ai pas d'espace",
        "Créer mon espace",
    ):
        assert words in text
    html = response.content.decode()
    assert f'action="/{CSP}/connexion/"' in html
    assert f'href="/{CSP}/creer-mon-espace/"' in html
    assert "Effectuer des démarches sans créer de compte" in text
    assert f'href="/{CSP}/demarches/"' in html


def test_a_code_famille_commune_offers_no_self_sign_up(client, demo_communes):
    text = text_of(client.get("/carrieres-sur-seine/"))
    assert "Mon espace perso" in text
    assert "Créer mon espace" not in text


def test_every_link_of_the_public_pages_leads_somewhere(client, demo_communes):
    """Crawl the commune's pages from its home: every internal link answers 200."""
    seen, queue = set(), [f"/{CSP}/"]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url, follow=True)  # the personal space leads to the login page
        assert response.status_code == 200, url
        if "text/html" not in response["Content-Type"]:
            continue
        parser = LinkParser()
        parser.feed(response.content.decode())
        for link in parser.links:
            if link.startswith(f"/{CSP}/"):
                queue.append(link.split("#")[0])
    expected = {
        f"/{CSP}/infos-pratiques/",
        f"/{CSP}/actualites/",
        f"/{CSP}/accessibilite/",
        f"/{CSP}/mentions-legales/",
        f"/{CSP}/conditions-generales/",
        f"/{CSP}/contacts/",
        f"/{CSP}/actualites/paiement-en-ligne/",
    }
    assert expected <= seen


def test_footer_is_the_seeds(client, demo_communes):
    text = text_of(client.get(f"/{CSP}/contacts/"))
    year = timezone.localdate().year
    assert (
        f"© {year} Carrières-sous-Poissy Retour au site principal Mentions légales "
        "Conditions générales d'utilisation Contacts" in text
    )


def test_infos_pratiques_lists_hours_and_contacts_of_every_service(client, demo_communes):
    with time_machine.travel(MONDAY_10H, tick=False):
        response = client.get(f"/{CSP}/infos-pratiques/")
    text = text_of(response)
    assert "Horaires d'ouverture au public" in text
    assert "Lundi 8h30-12h / 13h45-17h30" in text
    assert "Vendredi 8h30-12h / 13h45-17h30" in text
    for name, phone, email in [
        ("Affaires scolaires", "01 39 22 36 11", "service-scolaire@carrieres-sous-poissy.fr"),
        (
            "Accueils périscolaires et de loisirs",
            "01 39 22 36 66",
            "service.periscolairesloisirs@carrieres-sous-poissy.fr",
        ),
        ("État-civil", "01 39 22 36 08", "etatscivil-elections@carrieres-sous-poissy.fr"),
        ("Régie centrale", "01 39 22 36 27", "regie@carrieres-sous-poissy.fr"),
    ]:
        assert f"{name} Téléphone : {phone} Courriel : {email}" in text
    # The Régie keeps its own hours, not the town hall's.
    regie = text[text.index("Régie centrale Téléphone") :]
    assert "Lundi 8h30-12h / 13h45-16h Mardi 8h30-12h Mercredi 8h30-12h / 13h45-17h30" in regie
    assert "Jeudi 8h30-12h / 13h45-16h Vendredi 8h30-12h" in regie
    assert "Fermetures exceptionnelles" in text
    assert "Clôture de l'exercice comptable" in text


def test_infos_pratiques_badges_follow_each_place_hours(client, demo_communes):
    # Tuesday 24 November 2026 at 14h: the town hall is open, the Régie only opens mornings.
    with time_machine.travel(datetime(2026, 11, 24, 14, 0, tzinfo=PARIS), tick=False):
        response = client.get(f"/{CSP}/infos-pratiques/")
    info = response.context["info"]
    assert info.town_hall.status_label == "Ouvert maintenant — ferme à 17h30"
    by_name = {entry.service.name: entry.hours for entry in info.services}
    assert by_name["Régie centrale"].status_label == "Fermé — ouvre demain à 8h30"
    assert by_name["État-civil"].status_label == "Ouvert maintenant — ferme à 17h30"
    assert by_name["État-civil"].same_as_town_hall


def test_a_service_closure_closes_only_that_service(client, demo_communes):
    # Monday 28 December 2026: the Régie is closed for the end of the financial year.
    with time_machine.travel(datetime(2026, 12, 28, 10, 0, tzinfo=PARIS), tick=False):
        info = client.get(f"/{CSP}/infos-pratiques/").context["info"]
    by_name = {entry.service.name: entry.hours for entry in info.services}
    assert info.town_hall.status.is_open
    regie = by_name["Régie centrale"].status
    assert not regie.is_open
    assert regie.closed_reason == "Clôture de l'exercice comptable"
    # Back on Monday 4 January (1 January is a public holiday, the rest a closure).
    assert regie.opens_at == datetime(2027, 1, 4, 8, 30, tzinfo=PARIS)


def test_a_town_hall_closure_closes_every_service(client):
    commune = CommuneFactory()
    service = ServiceFactory(commune=commune)
    OpeningRangeFactory(commune=commune, weekday=0)
    OpeningRangeFactory(commune=commune, service=service, weekday=0)
    ClosureFactory(commune=commune, start=MONDAY_10H.date(), end=MONDAY_10H.date(), reason="Grève")
    with time_machine.travel(MONDAY_10H, tick=False):
        info = client.get(f"/{commune.slug}/infos-pratiques/").context["info"]
    assert not info.town_hall.status.is_open
    assert not info.services[0].hours.status.is_open
    assert info.services[0].hours.status.closed_reason == "Grève"


def test_news_list_is_paginated_newest_first(client):
    commune = CommuneFactory()
    now = timezone.now()
    for n in range(12):
        ActualiteFactory(
            commune=commune, title=f"Nouvelle {n:02d}", published_at=now - timedelta(days=n + 1)
        )
    first = client.get(f"/{commune.slug}/actualites/")
    titles = [item.title for item in first.context["page"].object_list]
    assert titles == [f"Nouvelle {n:02d}" for n in range(10)]
    assert "Page 1 sur 2" in text_of(first)
    second = client.get(f"/{commune.slug}/actualites/?page=2")
    assert [item.title for item in second.context["page"].object_list] == [
        "Nouvelle 10",
        "Nouvelle 11",
    ]
    # A page number typed by hand never breaks the page.
    for bad in ("abc", "0", "-1", "99", "1e9"):
        assert client.get(f"/{commune.slug}/actualites/?page={bad}").status_code == 200


def test_news_item_by_id_or_slug(client):
    item = ActualiteFactory(title="Fête de la musique", body="Sur la place.\n\nÀ 19h.")
    slug_url = f"/{item.commune.slug}/actualites/fete-de-la-musique/"
    assert item.get_absolute_url() == slug_url
    by_slug = client.get(slug_url)
    by_id = client.get(f"/{item.commune.slug}/actualites/{item.pk}/")
    for response in (by_slug, by_id):
        assert response.status_code == 200
        assert "<h1" in response.content.decode()
        assert "<p>Sur la place.</p>" in response.content.decode()


@pytest.mark.parametrize("reference", ["²", "9" * 30, "-1", "0", "{arabic}", "{fullwidth}"])
def test_a_news_reference_that_is_neither_id_nor_slug_is_404(client, reference):
    """« ² » passed `str.isdigit` and `int()` refused it: a 500; 30 nines overflow the id
    column; the item's id in Arabic-Indic or full-width digits was read as the id."""
    item = ActualiteFactory(title="Fête de la musique")
    reference = reference.format(
        arabic=str(item.pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        fullwidth=str(item.pk).translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    )
    assert client.get(f"/{item.commune.slug}/actualites/{reference}/").status_code == 404


def test_news_slugs_are_made_unique_and_never_only_digits(db):
    commune = CommuneFactory()
    first = ActualiteFactory(commune=commune, title="Conseil municipal")
    second = ActualiteFactory(commune=commune, title="Conseil municipal")
    digits = ActualiteFactory(commune=commune, title="2027")
    assert (first.slug, second.slug, digits.slug) == (
        "conseil-municipal",
        "conseil-municipal-2",
        "actualite-2027",
    )


def test_unpublished_and_expired_news_are_not_shown(client):
    commune = CommuneFactory()
    now = timezone.now()
    future = ActualiteFactory(commune=commune, published_at=now + timedelta(minutes=1))
    expired = ActualiteFactory(
        commune=commune, published_at=now - timedelta(days=2), expires_at=now - timedelta(minutes=1)
    )
    live = ActualiteFactory(
        commune=commune, published_at=now - timedelta(days=2), expires_at=now + timedelta(minutes=1)
    )
    listed = client.get(f"/{commune.slug}/actualites/").context["page"].object_list
    assert list(listed) == [live]
    for item in (future, expired):
        assert client.get(f"/{commune.slug}/actualites/{item.slug}/").status_code == 404
        assert client.get(f"/{commune.slug}/actualites/{item.pk}/").status_code == 404


def test_legal_pages_name_the_commune(client, demo_communes):
    accessibility = text_of(client.get(f"/{CSP}/accessibilite/"))
    assert "Déclaration d'accessibilité" in accessibility
    # No audit recorded for the demo communes: the honest status is « non conforme ».
    assert "Ce portail est non conforme" in accessibility
    assert "Défenseur des droits" in accessibility
    legal = text_of(client.get(f"/{CSP}/mentions-legales/"))
    assert "Commune de Carrières-sous-Poissy" in legal
    assert "Le Maire de Carrières-sous-Poissy" in legal
    terms = text_of(client.get(f"/{CSP}/conditions-generales/"))
    assert "Conditions générales d'utilisation" in terms
    contacts = text_of(client.get(f"/{CSP}/contacts/"))
    assert "Régie centrale" in contacts and "regie@carrieres-sous-poissy.fr" in contacts


def test_commune_list_shows_only_communes_online(client, demo_communes):
    CommuneFactory(name="Commune fermée", slug="commune-fermee", is_active=False)
    response = client.get("/")
    text = text_of(response)
    assert "Carrières-sous-Poissy" in text and "Carrières-sur-Seine" in text
    assert "Commune fermée" not in text
    assert client.get("/commune-fermee/").status_code == 404


def test_unknown_commune_is_a_friendly_404(client, demo_communes):
    for url in ("/inconnue/", "/inconnue/infos-pratiques/", f"/{CSP}/page-inconnue/"):
        response = client.get(url)
        assert response.status_code == 404
        text = text_of(response)
        assert "Page introuvable" in text
    assert "Voir les communes hébergées" in text_of(client.get("/inconnue/"))
    # Inside a known commune the 404 leads back to its home.
    assert "Retour à l'accueil de Carrières-sous-Poissy" in text_of(
        client.get(f"/{CSP}/page-inconnue/")
    )


def test_theme_stylesheet_carries_the_commune_colour(client, demo_communes):
    response = client.get(f"/{CSP}/theme.css")
    assert response["Content-Type"].startswith("text/css")
    assert "--theme: #1B4F8A;" in response.content.decode()
    home = client.get(f"/{CSP}/").content.decode()
    assert f'href="/{CSP}/theme.css?v=1B4F8A"' in home


def test_pages_carry_a_strict_content_security_policy_and_no_inline_code(client, demo_communes):
    for url in (
        "/",
        f"/{CSP}/",
        f"/{CSP}/infos-pratiques/",
        f"/{CSP}/actualites/paiement-en-ligne/",
    ):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        html = response.content.decode()
        assert "style=" not in html and "<style" not in html
        # Scripts only from the site's own files: every <script> has a src and no body.
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
        assert len(scripts) == html.count("<script")
        assert all(
            re.search(r'\bsrc="/static/', attrs) and not body.strip() for attrs, body in scripts
        )


@pytest.mark.parametrize("services", [1, 8])
def test_infos_pratiques_costs_the_same_queries_whatever_the_number_of_services(
    client, django_assert_max_num_queries, services
):
    commune = CommuneFactory()
    for _ in range(services):
        service = ServiceFactory(commune=commune)
        OpeningRangeFactory(commune=commune, service=service)
        ClosureFactory(commune=commune, service=service)
    ActualiteFactory.create_batch(5, commune=commune)
    # commune, services, ranges, closures (+ session-less request: nothing else)
    with django_assert_max_num_queries(4):
        assert client.get(f"/{commune.slug}/infos-pratiques/").status_code == 200
    with django_assert_max_num_queries(4):
        assert client.get(f"/{commune.slug}/").status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get(f"/{commune.slug}/actualites/").status_code == 200


def test_french_by_default_even_for_an_english_browser(client, demo_communes):
    response = client.get(f"/{CSP}/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "fr"
    assert '<html lang="fr">' in response.content.decode()
    assert "Infos pratiques" in text_of(response)


def test_commune_slug_cannot_shadow_the_platform_paths(db):
    from django.core.exceptions import ValidationError

    commune = Commune(
        slug="admin", name="X", address="a", postal_code="1", phone="01 23 45 67 89",
        email="a@b.fr", holiday_zone="A",
    )  # fmt: skip
    with pytest.raises(ValidationError) as error:
        commune.full_clean()
    assert "slug" in error.value.message_dict
    assert reverse("portal:home", kwargs={"commune": "carrieres-sous-poissy"}) == f"/{CSP}/"
