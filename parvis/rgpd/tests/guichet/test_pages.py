"""The administrator's pages: the retention report read before turning the deletions on, and the
registre des traitements generated from the models. Other agents get a 403, other communes and
citizens a 404."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from parvis.accounts.models import AgentRole, Attempt, AuditEntry
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import AgentFactory, CitizenFactory
from parvis.rgpd import registre
from parvis.rgpd.models import RetentionKind, RetentionPolicy, RetentionRule, RetentionRun


@pytest.fixture
def commune(db):
    return CommuneFactory(slug="villebois", name="Villebois")


@pytest.fixture
def admin(commune):
    return AgentFactory(commune=commune, roles=[AgentRole.Role.ADMINISTRATEUR])


def url(commune, name="conservation"):
    return reverse(f"guichet_rgpd:{name}", kwargs={"commune": commune.slug})


def text(response) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'")


def test_the_report_counts_what_would_go_and_turning_it_on(
    client, commune, admin, django_assert_max_num_queries
):
    old = timezone.now() - timedelta(days=31)
    for _n in range(3):
        Attempt.objects.create(commune=commune, kind="login", at=old)
    RetentionRule.objects.create(commune=commune, kind=RetentionKind.JOURNAL, days=200)
    client.force_login(admin)
    with django_assert_max_num_queries(20):
        page = client.get(url(commune))
    assert page.status_code == 200
    body = text(page)
    assert "Simulation : rien n'est encore supprimé." in body
    assert 'data-kind="tentatives">3<' in page.content.decode()
    assert "200 jours" in body and "par défaut : 365 jours" in body
    assert "Activer la suppression automatique" in body
    assert Attempt.objects.count() == 3  # reading the report deletes nothing

    response = client.post(url(commune))
    assert response.status_code == 302
    policy = RetentionPolicy.objects.get(commune=commune)
    assert policy.enabled_by == admin and policy.enabled_at
    assert AuditEntry.objects.filter(action="rgpd.retention_enabled", actor=admin).count() == 1
    body = text(client.get(url(commune)))
    assert "La suppression automatique est activée depuis le" in body
    assert "Activer la suppression automatique" not in body
    client.post(url(commune))  # again: nothing more
    assert AuditEntry.objects.filter(action="rgpd.retention_enabled").count() == 1


def test_the_runs_so_far_are_listed(client, commune, admin):
    RetentionRun.objects.create(
        commune=commune, dry_run=False, counts={RetentionKind.TENTATIVES: 4}, warned=2
    )
    client.force_login(admin)
    body = text(client.get(url(commune)))
    assert "Suppression" in body and "Journal des tentatives de connexion : 4" in body


def test_the_registre_lists_each_treatment_with_the_models_fields(
    client, commune, admin, django_assert_max_num_queries
):
    RetentionRule.objects.create(commune=commune, kind=RetentionKind.DOCUMENTS_EXPIRES, days=90)
    client.force_login(admin)
    with django_assert_max_num_queries(12):
        page = client.get(url(commune, "registre"))
    assert page.status_code == 200
    body = text(page)
    for treatment in registre.TREATMENTS:
        assert str(treatment.name) in body
        assert str(treatment.legal_basis) in body
    # Read from the models: a field's French name, the commune's own duration.
    assert "date de naissance" in body and "motif du refus" in body
    assert "Justificatifs dont la validité a pris fin : 90 jours." in body


def test_every_model_of_personal_data_belongs_to_a_treatment():
    listed = {name for treatment in registre.TREATMENTS for name in treatment.models}
    assert registre.personal_models() - listed - registre.AGENT_TRACES == set()


@pytest.mark.parametrize("name", ["conservation", "registre"])
def test_other_agents_get_a_403_and_citizens_a_404(client, commune, name):
    client.force_login(AgentFactory(commune=commune, roles=[AgentRole.Role.REGIE]))
    assert client.get(url(commune, name)).status_code == 403
    assert client.post(url(commune)).status_code == 403
    assert not RetentionPolicy.objects.exists()
    client.force_login(CitizenFactory(commune=commune))
    assert client.get(url(commune, name)).status_code == 404
    client.force_login(
        AgentFactory(commune=CommuneFactory(slug="autre"), roles=[AgentRole.Role.ADMINISTRATEUR])
    )
    assert client.get(url(commune, name)).status_code == 404
