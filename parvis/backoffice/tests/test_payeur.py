"""« Payeur des factures » in the family file at the guichet: shown (with « par défaut » while
none is chosen), chosen among the family's responsables by the agents who edit files and by the
régie, through families.services.choose_payeur (audited); a garbage or foreign choice is an error
in French next to the field; another commune's family is a 404; other roles get a 403."""

from datetime import date

import pytest

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.backoffice.tests.conftest import make_agent, text_of
from parvis.families.tests.factories import FamilleFactory, FamilyAccessFactory, PersonneFactory

pytestmark = pytest.mark.django_db

FILE = "/villebois/guichet/familles/1/"
PAGE = FILE + "payeur/"


@pytest.fixture
def household(famille):
    francoise = PersonneFactory(
        famille=famille, first_names="Françoise", birth_date=date(1986, 4, 9)
    )
    marc = PersonneFactory(
        famille=famille, civility="m", first_names="Marc", birth_date=date(1984, 11, 2)
    )
    FamilyAccessFactory(famille=famille, personne=francoise)
    return francoise, marc


def test_the_file_shows_the_default_payer_and_the_way_to_choose(agent_client, household):
    text = text_of(agent_client.get(FILE))
    assert "Payeur des factures : Françoise DURAND (par défaut)" in text
    assert "Choisir le payeur des factures" in text


def test_the_agent_chooses_marc_and_the_file_says_so(
    agent_client, famille, household, enfance_agent
):
    _francoise, marc = household
    page = agent_client.get(PAGE)
    assert page.status_code == 200
    text = text_of(page)
    assert "Par défaut : Madame Françoise DURAND" in text
    assert "Monsieur Marc DURAND" in text
    response = agent_client.post(PAGE, {"payeur": str(marc.pk)})
    assert response.status_code == 302 and response["Location"] == FILE
    famille.refresh_from_db()
    assert famille.payeur == marc
    entry = AuditEntry.objects.get(action="famille.update", famille_id=famille.pk)
    assert entry.actor == enfance_agent and entry.changes == {"payeur": [None, "Marc DURAND"]}
    text = text_of(agent_client.get(FILE))
    assert "Payeur des factures : Marc DURAND" in text
    assert "(par défaut)" not in text
    # And back to the default.
    agent_client.post(PAGE, {"payeur": "defaut"})
    famille.refresh_from_db()
    assert famille.payeur is None


def test_the_default_chosen_while_no_payer_is_set_is_no_500(agent_client, famille, household):
    """`payeur=defaut` locked the family's row joined to its (absent) payeur: PostgreSQL refuses
    FOR UPDATE on the nullable side of an outer join (a 500 on every choice; SQLite takes no row
    locks, so this fails on PostgreSQL only)."""
    response = agent_client.post(PAGE, {"payeur": "defaut"})
    assert response.status_code == 302 and response["Location"] == FILE
    famille.refresh_from_db()
    assert famille.payeur is None


@pytest.mark.parametrize("value", ["", "abc", "999999", "other_family"])
def test_a_bad_choice_is_an_error_next_to_the_field_and_changes_nothing(
    agent_client, famille, household, value
):
    if value == "other_family":
        stranger = PersonneFactory(famille=FamilleFactory(commune=famille.commune, number=2))
        value = str(stranger.pk)
    response = agent_client.post(PAGE, {"payeur": value})
    assert response.status_code == 200
    text = text_of(response)
    assert "Choisissez le payeur des factures" in text  # required, or among the responsables
    famille.refresh_from_db()
    assert famille.payeur is None
    assert not AuditEntry.objects.filter(action="famille.update").exists()


def test_the_regie_may_choose_the_payer(client, commune, famille, household):
    _francoise, marc = household
    client.force_login(make_agent(commune, AgentRole.Role.REGIE))
    assert client.post(PAGE, {"payeur": str(marc.pk)}).status_code == 302
    famille.refresh_from_db()
    assert famille.payeur == marc


def test_other_roles_get_a_403(client, commune, famille, household):
    _francoise, marc = household
    client.force_login(make_agent(commune, AgentRole.Role.ETAT_CIVIL))
    assert client.post(PAGE, {"payeur": str(marc.pk)}).status_code == 403
    famille.refresh_from_db()
    assert famille.payeur is None
    assert "Choisir le payeur des factures" not in text_of(client.get(FILE))


def test_another_communes_agent_gets_a_404(client, famille, household):
    _francoise, marc = household
    client.force_login(make_agent(FamilleFactory(number=1).commune))
    assert client.get(PAGE).status_code == 404
    assert client.post(PAGE, {"payeur": str(marc.pk)}).status_code == 404
    famille.refresh_from_db()
    assert famille.payeur is None


def test_an_unknown_family_is_a_404(agent_client, household):
    assert agent_client.get("/villebois/guichet/familles/9/payeur/").status_code == 404
