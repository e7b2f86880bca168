"""What an accepted request changes (« Signalement d'un changement de coordonnées », « Adhésion à
la facture en ligne »), with its audit rows, and the e-mails of a request's life: at submission
(with the tracking code for a requester without account) and at each change of state."""

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from parvis.accounts.models import AuditEntry
from parvis.demarches import services
from parvis.demarches.models import Status
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.demarches.tests.suivi_support import (
    agent_of,
    coordinates_procedure,
    file_request,
    paperless_procedure,
)
from parvis.families.models import FamilyAccess
from parvis.families.tests.factories import FamilyAccessFactory

pytestmark = pytest.mark.django_db

NEW_ADDRESS = {"street": "4, avenue des Tilleuls", "postal_code": "78955", "city": "Carrières"}


@pytest.fixture
def access():
    access = FamilyAccessFactory(
        user__address="3, rue des Écoles", user__postal_code="78955", user__city="Carrières"
    )
    return access


def accept(demande):
    agent = agent_of(demande.commune)
    services.transition(demande=demande, to=Status.ACCEPTEE, actor=agent)
    return agent


# --- Signalement d'un changement de coordonnées ---------------------------------------------------


def test_accepted_change_of_coordinates_updates_the_account_and_the_household(access):
    user, famille = access.user, access.famille
    demande, code = file_request(
        coordinates_procedure(famille.commune),
        user=user,
        answers={"adresse": NEW_ADDRESS, "telephone": "07 00 11 22 33", "tout_le_foyer": "oui"},
    )
    assert code is None and demande.famille == famille
    # Nothing changes while the request waits.
    user.refresh_from_db()
    assert user.address == "3, rue des Écoles"

    agent = accept(demande)

    user.refresh_from_db()
    famille.refresh_from_db()
    assert (user.address, user.postal_code, user.city, user.phone) == (
        "4, avenue des Tilleuls",
        "78955",
        "Carrières",
        "07 00 11 22 33",
    )
    assert (famille.address, famille.city) == ("4, avenue des Tilleuls", "Carrières")
    account_row = AuditEntry.objects.get(action="account.update_coordinates")
    assert account_row.actor == agent and account_row.target_id == str(user.pk)
    assert account_row.changes["address"] == ["3, rue des Écoles", "4, avenue des Tilleuls"]
    assert account_row.changes["phone"] == ["", "07 00 11 22 33"]
    family_row = AuditEntry.objects.get(action="famille.update")
    assert family_row.actor == agent and family_row.famille_id == famille.pk
    assert family_row.changes["address"] == ["3, rue des Écoles", "4, avenue des Tilleuls"]
    transition_row = AuditEntry.objects.get(action="demande.transition")
    assert transition_row.changes == {"status": [Status.EN_ATTENTE, Status.ACCEPTEE]}


def test_without_tout_le_foyer_only_the_account_changes(access):
    user, famille = access.user, access.famille
    demande, _code = file_request(
        coordinates_procedure(famille.commune),
        user=user,
        answers={"adresse": NEW_ADDRESS, "telephone": "", "tout_le_foyer": "non"},
    )
    accept(demande)
    user.refresh_from_db()
    famille.refresh_from_db()
    assert user.address == "4, avenue des Tilleuls"
    assert famille.address == "3, rue des Écoles"
    assert not AuditEntry.objects.filter(action="famille.update").exists()


def test_an_address_left_blank_does_not_erase_the_coordinates(access):
    """The wizard keeps an optional address left empty as {"street": "", …}."""
    user, famille = access.user, access.famille
    blank = {"street": "", "postal_code": "", "city": ""}
    demande, _code = file_request(
        coordinates_procedure(famille.commune),
        user=user,
        answers={"adresse": blank, "telephone": "06 99 88 77 66", "tout_le_foyer": "oui"},
    )
    accept(demande)
    user.refresh_from_db()
    famille.refresh_from_db()
    assert (user.address, user.city, user.phone) == (
        "3, rue des Écoles",
        "Carrières",
        "06 99 88 77 66",
    )
    assert famille.address == "3, rue des Écoles"
    row = AuditEntry.objects.get(action="account.update_coordinates")
    assert set(row.changes) == {"phone"}


def test_a_refused_change_changes_nothing(access):
    user, famille = access.user, access.famille
    demande, _code = file_request(
        coordinates_procedure(famille.commune),
        user=user,
        answers={"adresse": NEW_ADDRESS, "tout_le_foyer": "oui"},
    )
    services.transition(
        demande=demande,
        to=Status.REFUSEE,
        actor=agent_of(famille.commune),
        comment="Justificatif manquant.",
    )
    user.refresh_from_db()
    famille.refresh_from_db()
    assert user.address == famille.address == "3, rue des Écoles"
    assert not AuditEntry.objects.filter(
        action__in=["account.update_coordinates", "famille.update"]
    )


def test_a_family_no_longer_linked_to_the_requester_is_left_alone(access):
    user, famille = access.user, access.famille
    demande, _code = file_request(
        coordinates_procedure(famille.commune),
        user=user,
        answers={"adresse": NEW_ADDRESS, "tout_le_foyer": "oui"},
    )
    FamilyAccess.objects.filter(pk=access.pk).delete()  # « Retirer la famille » meanwhile
    accept(demande)
    user.refresh_from_db()
    famille.refresh_from_db()
    assert user.address == "4, avenue des Tilleuls"  # the account's own coordinates
    assert famille.address == "3, rue des Écoles"


# --- Adhésion à la facture en ligne --------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "before", "after"), [("oui", False, True), ("non", True, False)]
)
def test_accepted_paperless_choice_sets_the_family(access, answer, before, after):
    famille = access.famille
    famille.paperless_invoice = before
    famille.save()
    demande, _code = file_request(
        paperless_procedure(famille.commune), user=access.user, answers={"adhesion": answer}
    )
    famille.refresh_from_db()
    assert famille.paperless_invoice is before

    agent = accept(demande)

    famille.refresh_from_db()
    assert famille.paperless_invoice is after
    today = timezone.localdate()
    assert famille.paperless_invoice_since == today  # « Facture … depuis le » on Mon compte
    row = AuditEntry.objects.get(action="famille.update")
    assert row.actor == agent and row.famille_id == famille.pk
    assert row.changes == {
        "paperless_invoice": [before, after],
        "paperless_invoice_since": [None, today.isoformat()],
    }


def test_the_same_paperless_choice_again_writes_no_audit_row(access):
    famille = access.famille
    famille.paperless_invoice = True
    famille.save()
    demande, _code = file_request(
        paperless_procedure(famille.commune), user=access.user, answers={"adhesion": "oui"}
    )
    accept(demande)
    famille.refresh_from_db()
    assert famille.paperless_invoice is True
    assert not AuditEntry.objects.filter(action="famille.update").exists()


def test_an_automatically_accepted_paperless_request_applies_at_once(access):
    famille = access.famille
    demande, _code = file_request(
        paperless_procedure(famille.commune, auto_accept=True),
        user=access.user,
        answers={"adhesion": "oui"},
    )
    assert demande.status == Status.ACCEPTEE
    famille.refresh_from_db()
    assert famille.paperless_invoice is True
    assert AuditEntry.objects.get(action="famille.update").actor == access.user


# --- E-mails -------------------------------------------------------------------------------------


def test_an_automatically_accepted_request_sends_exactly_one_email(
    access, django_capture_on_commit_callbacks
):
    """« Adhésion à la facture en ligne » is accepted at once: one e-mail that says it was
    registered and accepted, not two identical ones in the same second."""
    with django_capture_on_commit_callbacks(execute=True):
        demande, _code = file_request(
            paperless_procedure(access.famille.commune, auto_accept=True),
            user=access.user,
            answers={"adhesion": "oui"},
        )
    assert demande.status == Status.ACCEPTEE
    (message,) = mail.outbox
    assert message.to == [access.user.email]
    assert demande.number in message.subject and "Acceptée" in message.subject
    assert f"sous le numéro {demande.number}" in message.body
    assert "État : Acceptée." in message.body


def test_an_anonymous_requester_gets_the_tracking_code_by_email(
    django_capture_on_commit_callbacks,
):
    procedure = ProcedureFactory(title="Demande d'acte de naissance")
    with django_capture_on_commit_callbacks(execute=True):
        demande, code = file_request(procedure)
    assert code and len(code) == 10
    (message,) = mail.outbox
    assert message.to == ["camille.petit@example.fr"]
    assert demande.number in message.subject and "En attente d'instruction" in message.subject
    assert f"Code de suivi : {code}" in message.body
    assert f"Numéro : {demande.number}" in message.body
    assert f"http://testserver/{demande.commune.slug}/demarches/suivi/" in message.body


def test_an_account_holder_gets_no_code_but_the_dashboard(
    access, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        file_request(
            paperless_procedure(access.famille.commune),
            user=access.user,
            answers={"adhesion": "oui"},
        )
    (message,) = mail.outbox
    assert message.to == [access.user.email]
    assert "Code de suivi" not in message.body
    assert "tableau de bord de vos demandes" in message.body


def test_each_change_of_state_is_emailed_with_the_services_comment(
    django_capture_on_commit_callbacks,
):
    procedure = ProcedureFactory(title="Livret de famille")
    demande, code = file_request(procedure)
    agent = agent_of(demande.commune)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.take(demande=demande, agent=agent)
    with django_capture_on_commit_callbacks(execute=True):
        services.ask_complement(demande=demande, agent=agent, message="Le livret actuel, svp.")
    with django_capture_on_commit_callbacks(execute=True):
        services.post_message(demande=demande, body="Le voici", from_requester=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.transition(demande=demande, to=Status.ACCEPTEE, actor=agent, comment="Prêt.")

    subjects = [m.subject for m in mail.outbox]
    assert len(subjects) == 3, subjects  # the requester's own answer e-mails nobody
    assert "En cours d'instruction" in subjects[0]
    assert "Complément demandé" in subjects[1] and "Le livret actuel, svp." in mail.outbox[1].body
    assert "Acceptée" in subjects[2] and "Prêt." in mail.outbox[2].body
    assert all(m.to == ["camille.petit@example.fr"] for m in mail.outbox)
    assert code not in "".join(m.body for m in mail.outbox)  # sent once, at submission


def test_each_email_says_its_own_state_when_several_changes_commit_together(
    django_capture_on_commit_callbacks,
):
    demande, _code = file_request(ProcedureFactory())
    agent = agent_of(demande.commune)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.take(demande=demande, agent=agent)
        services.transition(demande=demande, to=Status.SANS_SUITE, actor=agent, comment="Doublon.")
    first, second = mail.outbox
    assert "En cours d'instruction" in first.subject and "En cours d'instruction" in first.body
    assert "Classée sans suite" in second.subject and "Doublon." in second.body
