"""« Payeur des factures »: one of the family's responsables, chosen at the guichet through
`choose_payeur` (audited, refused for a child or another family's member); while none is chosen,
the responsable whose account acts for the family, else the first one entered in the file. And
the paperless choice's date (« Facture en ligne depuis le … »)."""

from datetime import date

import pytest
import time_machine

from parvis.accounts.models import AuditEntry
from parvis.families import selectors, services
from parvis.families.tests.factories import (
    AgentFactory,
    ChildFactory,
    FamilleFactory,
    FamilyAccessFactory,
    PersonneFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def durand():
    famille = FamilleFactory(name="DURAND")
    marc = PersonneFactory(
        famille=famille, civility="m", first_names="Marc", birth_date=date(1984, 11, 2)
    )
    francoise = PersonneFactory(famille=famille, first_names="Françoise", birth_date=None)
    return famille, marc, francoise


def test_without_a_choice_nor_an_account_the_first_responsable_entered_pays(durand):
    famille, marc, _francoise = durand
    assert selectors.payeur(famille) == marc
    assert selectors.full_name(marc) == "Monsieur Marc DURAND"


def test_without_a_choice_the_responsable_with_an_account_pays(durand):
    famille, _marc, francoise = durand
    FamilyAccessFactory(famille=famille, personne=francoise)
    assert selectors.payeur(famille) == francoise
    # The same answer from the rows a page already read (no query).
    members = list(selectors.responsables().filter(famille=famille))
    assert selectors.payeur(famille, members) == francoise


def test_the_chosen_payer_wins_and_is_audited_by_name(durand, django_assert_num_queries):
    famille, marc, francoise = durand
    FamilyAccessFactory(famille=famille, personne=francoise)
    agent = AgentFactory(commune=famille.commune)
    services.choose_payeur(famille=famille, actor=agent, payeur=marc)
    famille.refresh_from_db()
    assert selectors.payeur(famille) == marc
    entry = AuditEntry.objects.get(action="famille.update", famille_id=famille.pk)
    assert entry.actor == agent
    assert entry.changes == {"payeur": [None, "Marc DURAND"]}
    # Again the same: nothing written, no second row.
    services.choose_payeur(famille=famille, actor=agent, payeur=marc)
    assert AuditEntry.objects.filter(action="famille.update").count() == 1
    # Back to the default.
    services.choose_payeur(famille=famille, actor=agent, payeur=None)
    famille.refresh_from_db()
    assert famille.payeur_id is None
    assert selectors.payeur(famille) == francoise


def test_a_chosen_payer_who_left_the_household_falls_back_to_the_default(durand):
    famille, marc, _francoise = durand
    services.choose_payeur(
        famille=famille, actor=AgentFactory(commune=famille.commune), payeur=marc
    )
    marc.delete()
    famille.refresh_from_db()
    assert famille.payeur_id is None
    assert selectors.payeur(famille).first_names == "Françoise"


@pytest.mark.parametrize("who", ["child", "other_family"])
def test_only_a_responsable_of_the_family_may_be_its_payer(durand, who):
    famille, _marc, _francoise = durand
    stranger = (
        ChildFactory(famille=famille)
        if who == "child"
        else PersonneFactory(famille=FamilleFactory(commune=famille.commune))
    )
    with pytest.raises(services.NotAResponsable):
        services.choose_payeur(
            famille=famille, actor=AgentFactory(commune=famille.commune), payeur=stranger
        )
    famille.refresh_from_db()
    assert famille.payeur_id is None
    assert not AuditEntry.objects.filter(action="famille.update").exists()


def test_a_family_without_responsable_has_no_payer():
    assert selectors.payeur(FamilleFactory()) is None


def test_changing_the_paperless_choice_dates_it_and_keeping_it_does_not(durand):
    famille, _marc, _francoise = durand
    agent = AgentFactory(commune=famille.commune)
    assert famille.paperless_invoice_since is None
    with time_machine.travel("2026-03-04 10:00 +01:00", tick=False):
        services.update_famille(famille=famille, actor=agent, paperless_invoice=True)
    famille.refresh_from_db()
    assert famille.paperless_invoice_since == date(2026, 3, 4)
    with time_machine.travel("2026-05-06 10:00 +02:00", tick=False):
        services.update_famille(famille=famille, actor=agent, paperless_invoice=True)
    famille.refresh_from_db()
    assert famille.paperless_invoice_since == date(2026, 3, 4)
