"""The shared custody at the guichet (issue 19 §2): an agent who may edit family files records
the rule from the judgment or the parents' agreement (audited in both households' journals,
shown in both files), the form's errors follow the site's pattern, and it is scoped: another
commune's child is a 404, an agent who only reads family files gets a 403."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.urls import reverse

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.activities.models import CustodyActivity
from parvis.activities.tests.factories import make_activity
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.models import CustodyRule, CustodySide, SharedCustody
from parvis.families.tests.factories import ChildFactory, FamilleFactory
from parvis.testing.guichet import make_agent, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def households(commune):
    mother = FamilleFactory(commune=commune, name="DURAND")
    father = FamilleFactory(commune=commune, name="MARTIN")
    lea = ChildFactory(famille=mother, first_names="Léa")
    return mother, father, lea


def url(commune, child, suffix=""):
    name = "guichet_activites:garde_terminer" if suffix else "guichet_activites:garde"
    return reverse(name, args=[commune.slug, child.pk])


def post(client, commune, child, **data):
    form = {
        "other_famille": "", "source": "jugement", "source_date": "", "since": "01/09/2026",
        "rule": "semaines_paires", "first_side": "foyer", "start_week": "",
        "percent_foyer": "", "note": "",
    }  # fmt: skip
    form.update(data)
    return client.post(url(commune, child), form)


def test_an_agent_records_alternating_weeks_audited_in_both_journals(
    agent_client, commune, households
):
    mother, father, lea = households
    response = post(
        agent_client, commune, lea, other_famille=father.reference, rule="alternance",
        start_week="07/09/2026", first_side="autre", source="accord",
    )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:famille", args=[commune.slug, mother.number])
    custody = SharedCustody.objects.get(child=lea)
    assert (custody.other_famille, custody.rule, custody.first_side, custody.start_week) == (
        father,
        CustodyRule.ALTERNANCE,
        CustodySide.AUTRE,
        date(2026, 9, 7),
    )
    assert custody.commune == commune and custody.since == date(2026, 9, 1)
    rows = AuditEntry.objects.filter(action="garde_partagee.record").order_by("famille_id")
    assert [row.famille_id for row in rows] == sorted([mother.pk, father.pk])
    assert rows[0].changes["rule"] == [None, "alternance"]
    assert rows[0].changes["other_famille"] == [None, father.reference]

    mother_file = text_of(agent_client.get(response["Location"]))
    assert f"Garde partagée avec le foyer {father.reference} depuis le 01/09/2026" in mother_file
    father_file = text_of(
        agent_client.get(reverse("backoffice:famille", args=[commune.slug, father.number]))
    )
    assert f"Léa DURAND, enfant du foyer {mother.reference} , est en garde partagée" in father_file


def test_a_percentage_then_by_activity_replaces_the_rule(agent_client, commune, households):
    _mother, father, lea = households
    canteen = make_activity(commune, slug="cantine", name="Restauration scolaire")
    assert post(agent_client, commune, lea, other_famille=str(father.number),
                rule="pourcentage", percent_foyer="60,5").status_code == 302  # fmt: skip
    assert SharedCustody.objects.get(child=lea).percent_foyer == D("60.50")
    response = post(
        agent_client, commune, lea, other_famille=father.reference, rule="par_activite",
        **{f"activite_{canteen.pk}": "autre"},
    )  # fmt: skip
    assert response.status_code == 302
    custody = SharedCustody.objects.get(child=lea)
    assert custody.percent_foyer is None  # the fields the rule does not use are emptied
    assert list(CustodyActivity.objects.values_list("activity", "side")) == [(canteen.pk, "autre")]
    last = AuditEntry.objects.filter(action="garde_partagee.record").latest("pk")
    assert last.changes["activities"] == [None, "Restauration scolaire : Autre foyer"]
    assert last.changes["percent_foyer"] == ["60.50", None]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"other_famille": "F999999"}, "other_famille", "Aucun dossier de famille ne porte"),
        ({"other_famille": "<script>"}, "other_famille", "Aucun dossier de famille ne porte"),
        ({"other_famille": "own"}, "other_famille", "C'est le dossier de l'enfant"),
        ({"rule": "alternance", "start_week": ""}, "start_week", "Indiquez le lundi"),
        ({"rule": "alternance", "start_week": "08/09/2026"}, "start_week", "commence un lundi"),
        ({"rule": "pourcentage"}, "percent_foyer", "Indiquez la part"),
        ({"rule": "pourcentage", "percent_foyer": "100,01"}, "percent_foyer", "100"),
    ],
)
def test_the_forms_errors_follow_the_sites_pattern(
    agent_client, commune, households, data, field, message
):
    mother, father, lea = households
    data = {**data}  # parametrize's dict is shared by every run of the test in the process
    data.setdefault("other_famille", father.reference)
    if data["other_famille"] == "own":
        data["other_famille"] = mother.reference
    response = post(agent_client, commune, lea, **data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title> Erreur :" in " ".join(html.split())
    assert f'id="id_{field}"' in html and 'aria-invalid="true"' in html
    assert message in text_of(response)
    assert not SharedCustody.objects.exists()


def test_another_communes_child_is_a_404_and_a_reader_gets_a_403(
    client, agent_client, commune, households
):
    other = CommuneFactory(slug="ailleurs")
    stranger = ChildFactory(famille=FamilleFactory(commune=other))
    assert agent_client.get(url(commune, stranger)).status_code == 404
    assert (
        agent_client.get(f"/{commune.slug}/guichet/activites/garde-partagee/x/").status_code == 404
    )
    reader = make_agent(commune, AgentRole.Role.REGIE)
    client.force_login(reader)
    _mother, _father, lea = households
    assert client.get(url(commune, lea)).status_code == 403


def test_ending_the_custody_is_audited(agent_client, commune, households, enfance_agent):
    mother, father, lea = households
    post(agent_client, commune, lea, other_famille=father.reference)
    page = agent_client.get(url(commune, lea))
    assert "Mettre fin à la garde partagée" in text_of(page)
    response = agent_client.post(url(commune, lea, "terminer"))
    assert response.status_code == 302
    assert not SharedCustody.objects.exists()
    ended = AuditEntry.objects.filter(action="garde_partagee.end")
    assert sorted(ended.values_list("famille_id", flat=True)) == sorted([mother.pk, father.pk])
    assert agent_client.post(url(commune, lea, "terminer")).status_code == 404


def test_the_household_that_no_longer_shares_the_child_reads_only_that_it_left(
    agent_client, commune, households
):
    mother, father, lea = households
    post(agent_client, commune, lea, other_famille=father.reference)
    stepfather = FamilleFactory(commune=commune, name="PETIT")
    response = post(
        agent_client, commune, lea, other_famille=stepfather.reference, note="Jugement du 02/12"
    )
    assert response.status_code == 302
    last = AuditEntry.objects.filter(action="garde_partagee.record").order_by("-pk")
    by_family = {row.famille_id: row.changes for row in last[:3]}
    # Father's journal (and his RGPD export) says he no longer shares Léa: nothing of the new
    # household nor of the agent's note.
    assert by_family[father.pk] == {"other_famille": [father.reference, None]}
    assert by_family[stepfather.pk]["other_famille"] == [father.reference, stepfather.reference]
    assert by_family[mother.pk]["note"] == ["", "Jugement du 02/12"]
