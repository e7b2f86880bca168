"""activities.services_absences and activities.absences pinned rule by rule (issue 24 §3): each
refusal's French message next to its field and at its edge (today, a year ahead, 31 days, an
overlap of one day), the fields the audit rows keep, the comment and the agent's reason as
stored, the certificate's document (label, date, service), its file removed when the write
fails, and who receives which e-mail."""

# The `family` fixture is test_absences's, imported: its parameters redefine the name.
# ruff: noqa: F811

import re
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError

from parvis.accounts.models import AuditEntry
from parvis.activities import services_absences as services
from parvis.activities.absences import justification
from parvis.activities.models import Absence, InscriptionStatus
from parvis.activities.rules import PARIS
from parvis.activities.tests.factories import make_activity, register
from parvis.activities.tests.test_absences import NOW, TODAY, declare, family, pdf  # noqa: F401
from parvis.families.models import Document, DocumentStatus, MemberKind
from parvis.families.tests.factories import AgentFactory, ChildFactory, PersonneFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def refusal(field: str, **kwargs) -> str:
    with pytest.raises(ValidationError) as refused:
        declare(**kwargs)
    assert list(refused.value.message_dict) == [field]
    return refused.value.message_dict[field][0]


# --- The days a family may declare ---------------------------------------------------------------


def test_today_is_accepted_yesterday_is_refused_with_its_date(family):
    message = refusal("first_day", family=family, first_day=TODAY - timedelta(days=1))
    assert message == (
        "Le 18/11/2026 est passé : une absence se signale le jour même ou à l'avance. Pour une "
        "absence passée, contactez le service."
    )
    assert declare(family, first_day=TODAY).first_day == TODAY


def test_a_year_ahead_is_accepted_a_day_more_is_not(family):
    ahead = TODAY + timedelta(days=services.MAX_DAYS_AHEAD)
    message = refusal(
        "first_day", family=family, first_day=ahead + timedelta(days=1),
        last_day=ahead + timedelta(days=1),
    )  # fmt: skip
    assert message == "Une absence se signale au plus un an à l'avance."
    assert declare(family, first_day=ahead, last_day=ahead).first_day == ahead


def test_the_last_day_before_the_first_is_refused_the_same_day_is_not(family):
    message = refusal("last_day", family=family, last_day=TODAY - timedelta(days=1))
    assert message == "Le dernier jour d'absence doit être le premier jour ou après."


def test_thirty_two_days_are_refused_with_the_maximum(family):
    message = refusal("last_day", family=family, last_day=TODAY + timedelta(days=31))
    assert message == (
        "Une absence signalée ici dure au plus 31 jours : pour une absence plus longue, "
        "contactez le service."
    )


def test_a_responsable_is_not_a_child_to_declare_absent(family):
    parent = PersonneFactory(famille=family["famille"], kind=MemberKind.RESPONSABLE)
    message = refusal("child", family=family, child=parent)
    assert message == "Cet enfant n'est pas de votre foyer."


def test_an_unknown_reason_is_refused(family):
    assert (
        refusal("reason", family=family, reason="vacances") == "Choisissez le motif de l'absence."
    )


@pytest.mark.parametrize(
    "first, last, overlaps",
    [
        (date(2026, 11, 20), date(2026, 11, 23), True),  # ends the day the other starts
        (date(2026, 11, 26), date(2026, 11, 27), True),  # starts the day the other ends
        (date(2026, 11, 19), date(2026, 11, 22), False),  # ends the day before
        (date(2026, 11, 27), date(2026, 11, 30), False),  # starts the day after
    ],
)
def test_an_overlap_of_one_day_is_refused_next_days_are_free(family, first, last, overlaps):
    declare(family, first_day=date(2026, 11, 23), last_day=date(2026, 11, 26))
    if not overlaps:
        assert declare(family, first_day=first, last_day=last).first_day == first
        return
    message = refusal("first_day", family=family, first_day=first, last_day=last)
    assert message.startswith("Une absence de Léa est déjà signalée du 23/11/2026 au 26/11/2026")


# --- What is stored and audited ------------------------------------------------------------------


def test_the_declaration_and_its_audit_row_keep_every_field(family):
    absence = declare(
        family, first_day=date(2026, 11, 23), last_day=date(2026, 11, 24), reason="famille",
        comment="  " + "m" * 310 + "  ", certificate_upload=pdf(),
    )  # fmt: skip
    assert absence.comment == "m" * services.COMMENT_MAX_LENGTH
    assert absence.certificate_at == NOW and absence.declared_by == family["user"]
    assert absence.commune == family["commune"]
    entry = AuditEntry.objects.get(action="absence.declare")
    assert entry.commune == family["commune"]
    assert entry.changes == {
        "child": [None, str(family["child"])],
        "first_day": [None, "2026-11-23"],
        "last_day": [None, "2026-11-24"],
        "reason": [None, "famille"],
        "certificate": [None, absence.certificate_id],
        "justified": [None, True],
        "justification": [None, "certificat reçu dans les 72 h"],
    }


def test_without_a_certificate_none_is_stored_and_audited(family):
    absence = declare(family, actor=None)
    assert absence.certificate is None and absence.certificate_at is None
    assert absence.declared_by is None
    assert AuditEntry.objects.get(action="absence.declare").changes["certificate"] == [None, None]


def test_the_certificate_document_says_whose_which_day_and_for_which_service(family):
    family["activity"].position = 5
    family["activity"].save(update_fields=["position"])
    second = make_activity(family["commune"], name="Cantine", slug="cantine", position=1)
    register(family["child"], second)
    waiting = make_activity(family["commune"], name="Étude", slug="etude", position=0)
    register(family["child"], waiting, status=InscriptionStatus.EN_ATTENTE)
    absence = declare(family, certificate_upload=pdf())
    document = absence.certificate
    assert document.label == "Certificat d'absence — Léa DURAND — 19/11/2026"
    assert document.document_date == TODAY
    # The first accepted inscription's service (by the activities' order), not a pending one's.
    assert document.service == second.service


def test_without_an_accepted_inscription_the_certificate_has_no_service(family):
    family["child"].inscriptions.update(status=InscriptionStatus.EN_ATTENTE)
    assert declare(family, certificate_upload=pdf()).certificate.service is None


def test_a_refused_file_is_said_next_to_the_certificate(family, settings):
    settings.FAMILY_DOCUMENTS_QUOTA = 5
    message = refusal(services.CERTIFICATE, family=family, certificate_upload=pdf())
    assert "espace de stockage est plein" in message


def test_a_failed_declaration_removes_the_certificates_file(family, monkeypatch):
    stored = []
    store = services.store_document

    def keep(**kwargs):
        stored.append(store(**kwargs))
        return stored[-1]

    def broken(**kwargs):
        raise RuntimeError("audit indisponible")

    monkeypatch.setattr(services, "store_document", keep)
    monkeypatch.setattr(services, "audit", broken)
    with pytest.raises(RuntimeError):
        declare(family, certificate_upload=pdf())
    (document,) = stored
    assert not document.file.storage.exists(document.file.name)
    assert not Absence.objects.exists()


def test_a_failed_later_certificate_removes_its_file(family, monkeypatch):
    absence = declare(family)
    stored = []
    store = services.store_document

    def keep(**kwargs):
        stored.append(store(**kwargs))
        return stored[-1]

    def broken(**kwargs):
        raise RuntimeError("audit indisponible")

    monkeypatch.setattr(services, "store_document", keep)
    monkeypatch.setattr(services, "audit", broken)
    with pytest.raises(RuntimeError):
        services.add_certificate(absence=absence, upload=pdf(), actor=family["user"])
    (document,) = stored
    assert not document.file.storage.exists(document.file.name)
    absence.refresh_from_db()
    assert absence.certificate is None


# --- A certificate sent later ---------------------------------------------------------------------


def test_a_later_certificate_is_audited_before_and_after(family):
    absence = declare(family)
    later = NOW + timedelta(hours=5)
    with time_machine.travel(later, tick=False):
        updated = services.add_certificate(absence=absence, upload=pdf(), actor=family["user"])
    assert updated.certificate_at == later
    assert updated.certificate.document_date == TODAY
    entry = AuditEntry.objects.get(action="absence.certificate")
    assert entry.actor == family["user"] and entry.famille_id == family["famille"].pk
    assert entry.changes == {
        "certificate": [None, updated.certificate_id],
        "justified": [False, True],
        "justification": ["sans certificat", "certificat reçu dans les 72 h"],
    }


def test_a_second_certificate_is_said_next_to_the_file(family):
    absence = declare(family, certificate_upload=pdf())
    with pytest.raises(ValidationError) as refused:
        services.add_certificate(absence=absence, upload=pdf(), actor=family["user"])
    assert refused.value.message_dict == {
        services.CERTIFICATE: ["Un certificat est déjà joint à cette absence."]
    }


def test_until_when_a_certificate_still_helps(family):
    absence = declare(family)
    deadline = datetime(2026, 11, 22, 0, 0, tzinfo=PARIS)
    assert services.open_until(absence) == deadline
    assert services.open_until(absence, now=deadline + timedelta(minutes=1)) is None
    with_one = declare(family, first_day=date(2026, 11, 23), certificate_upload=pdf(),
                       last_day=date(2026, 11, 23))  # fmt: skip
    assert services.open_until(with_one) is None
    # A refused certificate counts as none; an absence justified by the agent needs none.
    Document.objects.update(status=DocumentStatus.REFUSE)
    Absence.objects.filter(pk=with_one.pk).update(justified=False)
    with_one.refresh_from_db()
    assert services.may_add_certificate(with_one)
    assert services.open_until(with_one) == datetime(2026, 11, 26, 0, 0, tzinfo=PARIS)
    absence.justified = True
    assert services.open_until(absence) is None


# --- The agent's decision ----------------------------------------------------------------------


def test_the_agents_reason_is_one_line_of_at_most_300_characters(family):
    absence = declare(family)
    agent = AgentFactory(commune=family["commune"])
    updated = services.set_justified(
        absence=absence, justified=1, reason="  sortie \n scolaire  " + " x" * 200, actor=agent
    )
    assert updated.justified is True
    assert updated.justification == ("sortie scolaire" + " x" * 200)[:300]
    assert AuditEntry.objects.get(action="absence.decision").changes == {
        "justified": [False, True],
        "justification": ["sans certificat", updated.justification],
    }
    with pytest.raises(ValidationError) as refused:
        services.set_justified(absence=absence, justified=False, reason=None, actor=agent)
    assert refused.value.message_dict == {
        "reason": ["Indiquez la raison de la décision : elle est dite à la famille."]
    }


def test_a_decision_goes_to_the_first_responsable_when_an_agent_declared(
    family, django_capture_on_commit_callbacks
):
    PersonneFactory(famille=family["famille"], email="", first_names="Paul",
                    birth_date=date(1980, 1, 1))  # fmt: skip
    PersonneFactory(famille=family["famille"], email="mere@example.fr", first_names="Anne",
                    birth_date=date(1982, 1, 1))  # fmt: skip
    agent = AgentFactory(commune=family["commune"], is_staff=True, email="agent@example.fr")
    absence = declare(family, actor=agent)
    with django_capture_on_commit_callbacks(execute=True):
        services.set_justified(absence=absence, justified=False, reason="non lisible", actor=agent)
    (message,) = mail.outbox
    assert message.to == ["mere@example.fr"]
    assert message.subject == f"{family['commune'].name} — absence de Léa : décision du service"


def test_a_decision_without_any_address_sends_nothing(family, django_capture_on_commit_callbacks):
    absence = declare(family, actor=None)
    agent = AgentFactory(commune=family["commune"])
    with django_capture_on_commit_callbacks(execute=True):
        services.set_justified(absence=absence, justified=True, reason="grève", actor=agent)
    assert mail.outbox == []


# --- The family's e-mails -------------------------------------------------------------------------


def test_the_acknowledgement_without_a_delay_left_says_no_date(
    family, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        declare(family, certificate_upload=pdf())
    (message,) = mail.outbox
    assert message.subject == f"{family['commune'].name} — absence de Léa signalée"
    assert "jusqu'au" not in message.body


def test_an_account_without_email_gets_no_acknowledgement_nor_receipt(
    family, django_capture_on_commit_callbacks
):
    family["user"].email = ""
    family["user"].save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        absence = declare(family)
        services.add_certificate(absence=absence, upload=pdf(), actor=family["user"])
    assert mail.outbox == []


def test_the_certificates_receipt_names_the_child(family, django_capture_on_commit_callbacks):
    absence = declare(family)
    with django_capture_on_commit_callbacks(execute=True):
        services.add_certificate(absence=absence, upload=pdf(), actor=family["user"])
    (message,) = mail.outbox
    assert message.to == ["francoise@example.fr"]
    assert message.subject == (f"{family['commune'].name} — certificat reçu pour l'absence de Léa")
    assert re.search(rf"/absences/{absence.pk}/", message.body)


# --- The rule's words ---------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "inconnu"])
def test_a_reason_outside_the_choices_is_said_without_motif(reason):
    justified, why = justification(
        first_day=TODAY, last_day=TODAY, reason=reason, certificate_at=None,
        certificate_hours=72, min_days=1,
    )  # fmt: skip
    assert (justified, why) == (False, "sans certificat")


def test_a_child_of_another_household_in_the_same_commune_is_refused(family):
    stranger = ChildFactory(famille=PersonneFactory(famille__commune=family["commune"]).famille)
    assert refusal("child", family=family, child=stranger) == "Cet enfant n'est pas de votre foyer."


def test_the_certificate_deadline_is_in_the_paris_zone_not_a_fixed_offset():
    from parvis.activities.absences import certificate_deadline

    # Saturday 24 October 2026 + 72 h crosses the autumn change: still Paris's zone after it.
    assert certificate_deadline(date(2026, 10, 24), 72).tzinfo is PARIS


# --- The e-mails' rows and words (the queue) ------------------------------------------------------


def test_each_email_is_queued_for_the_absences_commune_and_signed_by_its_town_hall(
    family, django_capture_on_commit_callbacks
):
    from parvis.background.models import OutgoingEmail

    agent = AgentFactory(commune=family["commune"])
    with django_capture_on_commit_callbacks(execute=True):
        absence = declare(family)
    with django_capture_on_commit_callbacks(execute=True):
        services.add_certificate(absence=absence, upload=pdf(), actor=family["user"])
    with django_capture_on_commit_callbacks(execute=True):
        services.set_justified(absence=absence, justified=True, reason="grève", actor=agent)
    rows = OutgoingEmail.objects.order_by("pk")
    assert [row.commune_id for row in rows] == [family["commune"].pk] * 3
    signature = f"La mairie de {family['commune'].name}"
    assert [signature in message.body for message in mail.outbox] == [True] * 3


def test_no_account_means_no_acknowledgement_and_no_error(
    family, django_capture_on_commit_callbacks
):
    from parvis.background.models import OutgoingEmail

    with django_capture_on_commit_callbacks(execute=True):
        absence = declare(family, actor=None)
    services.send_certificate_received(absence=absence, user=None)
    assert not OutgoingEmail.objects.exists()


def test_the_acknowledgement_says_the_delay_left_when_it_was_declared(
    family, django_capture_on_commit_callbacks
):
    absence = declare(family)
    # Sent later than declared (the queue): the delay is the one left at the declaration.
    with django_capture_on_commit_callbacks(execute=True):
        services.send_acknowledgement(
            absence=absence, user=family["user"], now=datetime(2026, 11, 22, 0, 1, tzinfo=PARIS)
        )
        services.send_acknowledgement(absence=absence, user=family["user"], now=NOW)
    late, early = mail.outbox
    assert "jusqu'au" not in late.body
    assert "jusqu'au dimanche 22 novembre 2026 à 00:00" in early.body


def test_the_certificates_service_is_the_childs_own_first_by_position_then_name_then_row(family):
    commune = family["commune"]
    # Another household's child registered to an activity shown first: not this child's.
    other = ChildFactory(famille=PersonneFactory(famille__commune=commune).famille)
    first_shown = make_activity(commune, name="Accompagnement", slug="acc", position=0)
    register(other, first_shown)
    family["activity"].position = 3
    family["activity"].save(update_fields=["position"])
    # Same position: the name decides (« Accompagnement scolaire » before « Accueil … »).
    by_name = make_activity(commune, name="Accompagnement scolaire", slug="acs", position=3)
    register(family["child"], by_name)
    assert declare(family, certificate_upload=pdf()).certificate.service == by_name.service
    # Same position and name: the first registered.
    Absence.objects.all().delete()
    twin = make_activity(commune, name="Accompagnement scolaire", slug="acs-2", position=3)
    register(family["child"], twin)
    assert declare(family, certificate_upload=pdf()).certificate.service == by_name.service


def test_the_certificate_is_stored_as_uploaded_by_the_account(family):
    assert declare(family, certificate_upload=pdf()).certificate.uploaded_by == family["user"]


def test_a_certificate_the_agent_did_not_accept_leaves_no_delay_to_send_another(family):
    absence = declare(family, certificate_upload=pdf())
    agent = AgentFactory(commune=family["commune"])
    services.set_justified(absence=absence, justified=False, reason="illisible", actor=agent)
    absence.refresh_from_db()
    # The certificate is there (not refused as a document): none can be added, no delay shown.
    assert not services.may_add_certificate(absence)
    assert services.open_until(absence) is None
