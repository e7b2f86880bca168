"""A commune's administrator sets its own retention durations in the admin, and only its own."""

import pytest
from django.urls import reverse

from parvis.communes.tests.factories import CommuneAdminFactory, CommuneFactory
from parvis.rgpd.models import RetentionKind, RetentionRule

pytestmark = pytest.mark.django_db


def test_an_administrator_sets_a_duration_of_their_commune_only(client):
    mine, other = CommuneFactory(slug="alpha"), CommuneFactory(slug="beta")
    RetentionRule.objects.create(commune=other, kind=RetentionKind.JOURNAL, days=100)
    client.force_login(CommuneAdminFactory(commune=mine))
    add = reverse("admin:rgpd_retentionrule_add")
    page = client.get(add)
    assert page.status_code == 200 and 'name="commune"' not in page.content.decode()
    response = client.post(add, {"kind": RetentionKind.TENTATIVES, "days": "7"})
    assert response.status_code == 302
    assert RetentionRule.objects.get(commune=mine).days == 7
    listed = client.get(reverse("admin:rgpd_retentionrule_changelist")).content.decode()
    assert "Journal des tentatives de connexion" in listed
    assert "Journal des modifications (hors régie)" not in listed  # the other commune's rule
    # A second rule of the same kind is refused, not a server error.
    again = client.post(add, {"kind": RetentionKind.TENTATIVES, "days": "9"})
    assert again.status_code == 200
    assert RetentionRule.objects.filter(commune=mine).count() == 1
    assert client.get(reverse("admin:rgpd_retentionrun_changelist")).status_code == 200
