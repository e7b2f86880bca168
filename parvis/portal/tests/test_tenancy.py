"""Nothing of one commune shows under another's address."""

import pytest

from parvis.communes.tests.factories import ActualiteFactory, CommuneFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def test_a_news_item_of_one_commune_is_a_404_under_the_other(client, demo_communes):
    item = ActualiteFactory(
        commune=demo_communes["carrieres-sous-poissy"], title="Conseil municipal"
    )
    own = "/carrieres-sous-poissy/actualites"
    other = "/carrieres-sur-seine/actualites"
    assert client.get(f"{own}/{item.slug}/").status_code == 200
    assert client.get(f"{own}/{item.pk}/").status_code == 200
    assert client.get(f"{other}/{item.slug}/").status_code == 404
    assert client.get(f"{other}/{item.pk}/").status_code == 404
    assert "Conseil municipal" not in client.get(f"{other}/").content.decode()


def test_every_news_item_of_a_commune_is_hidden_from_all_others(client, demo_communes):
    communes = list(demo_communes.values())
    for commune in communes:
        for item in commune.actualite_set.all():
            for other in communes:
                status = 200 if other == commune else 404
                if item.expires_at is not None:
                    continue  # the demo's expired item is a 404 everywhere
                assert client.get(f"/{other.slug}/actualites/{item.pk}/").status_code == status
                assert client.get(f"/{other.slug}/actualites/{item.slug}/").status_code == status


def test_the_same_slug_in_two_communes_shows_each_its_own(client):
    a, b = CommuneFactory(), CommuneFactory()
    ActualiteFactory(commune=a, title="Conseil municipal", body="Texte de A")
    ActualiteFactory(commune=b, title="Conseil municipal", body="Texte de B")
    page_a = client.get(f"/{a.slug}/actualites/conseil-municipal/").content.decode()
    page_b = client.get(f"/{b.slug}/actualites/conseil-municipal/").content.decode()
    assert "Texte de A" in page_a and "Texte de B" not in page_a
    assert "Texte de B" in page_b and "Texte de A" not in page_b


def test_services_of_one_commune_never_appear_on_another(client):
    a, b = CommuneFactory(), CommuneFactory()
    ServiceFactory(commune=a, name="Service de A", email="a@service.fr")
    for url in ("", "infos-pratiques/", "contacts/"):
        page = client.get(f"/{b.slug}/{url}").content.decode()
        assert "Service de A" not in page and "a@service.fr" not in page
