"""The warning before penalties (billing/services_warnings.py and `send_penalty_warnings`): who
gets it (a presence without booking, an unjustified absence, a late pick-up; not a justified
absence, not a month without penalty, not a family without address), what it says (child, unit,
day, situation, the amounts the invoice will add, when it is made, the contest link), once only,
and the link opening « Contester une pénalité » for the family."""

from datetime import date
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command

from parvis.accounts.models import AuditEntry
from parvis.billing.models import PenaltyKind, PenaltyRule, PenaltyWarning
from parvis.billing.services_warnings import send_penalty_warnings
from parvis.billing.tests.invoicing_factories import (
    NOV,
    NOV_DAYS,
    absence,
    book,
    child,
    family,
    make_world,
    tick,
)
from parvis.demarches.catalogue import load_catalogue
from parvis.demarches.models import Demande, Procedure
from parvis.families.tests.factories import FamilyAccessFactory, PersonneFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 26)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(date(2026, 11, 26), tick=False):
        yield


@pytest.fixture
def world():
    world = make_world()
    load_catalogue(world.commune)
    return world


@pytest.fixture
def durand(world):
    famille = family(world, "DURAND", qf="1650.00")
    PersonneFactory(famille=famille, first_names="Françoise", email="francoise@example.fr")
    access = FamilyAccessFactory(famille=famille, user__email="compte.durand@example.fr")
    famille.user = access.user
    lea = child(world, famille, "Léa", date(2020, 5, 10))
    book(lea, world.meal, NOV_DAYS[:12])
    tick(lea, world.meal, NOV_DAYS[0], present=False)  # unjustified absence: 50 % of 4,15 €
    tick(lea, world.am, NOV_DAYS[1], present=True)  # without booking: 1,20 € + 0,60 €
    book(lea, world.pm, NOV_DAYS[2:3])
    tick(lea, world.pm, NOV_DAYS[2], present=True, late=True)  # late pick-up: 3,00 €
    absence(lea, NOV_DAYS[3], justified=True)  # a credit, not a penalty
    tick(lea, world.meal, NOV_DAYS[3], present=False)
    tick(lea, world.meal, NOV_DAYS[16], present=False)  # 30 November: not yet come
    return famille


def warn(world, today=TODAY):
    return send_penalty_warnings(regie=world.regie, month=NOV, today=today)


def test_the_family_is_warned_of_each_penalty_with_its_amount(
    world, durand, django_capture_on_commit_callbacks
):
    quiet = family(world, "CALME")  # booked, came: nothing to warn
    book(child(world, quiet, "Tom", date(2019, 1, 1)), world.meal, NOV_DAYS[:5])
    PersonneFactory(famille=quiet, email="calme@example.fr")

    with django_capture_on_commit_callbacks(execute=True):
        assert warn(world) == 1

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    # Where the family's invoices go: the responsable's e-mail (the account's only without one).
    assert message.to == ["francoise@example.fr"]
    assert message.subject == "Villebois — facture de novembre 2026 : pénalités prévues"
    body = message.body
    assert (
        "Votre facture de novembre 2026 (Régie enfance) sera établie à partir du 1er décembre 2026"
        in body
    )
    assert (
        "- lundi 2 novembre 2026 — Léa DURAND — Restauration scolaire (Repas) : absence non "
        "justifiée, 2,08 €"
    ) in body
    assert (
        "- mardi 3 novembre 2026 — Léa DURAND — Accueil Périscolaire (Acc Matin) : présence "
        "sans réservation, 1,20 € (la prestation) + 0,60 € (pénalité) = 1,80 €"
    ) in body
    assert (
        "- jeudi 5 novembre 2026 — Léa DURAND — Accueil Périscolaire (Acc Soir) : retard le "
        "soir, 3,00 €"
    ) in body
    assert "vendredi 6 novembre" not in body  # the justified absence is credited
    assert "30 novembre" not in body  # after today
    assert "Total de ces ajouts : 6,88 €." in body  # 2,08 + 1,80 + 3,00
    assert "http://testserver/villebois/demarches/contestation-facturation/" in body
    assert "http://testserver/villebois/mon-espace/factures/" in body
    warning = PenaltyWarning.objects.get()
    assert (warning.famille, warning.month, warning.regie) == (durand, NOV, world.regie)
    assert [(item["kind"], item["day"], item["amount"]) for item in warning.items] == [
        (PenaltyKind.ABSENCE_NON_JUSTIFIEE, "2026-11-02", "2.08"),
        (PenaltyKind.PRESENCE_SANS_RESERVATION, "2026-11-03", "1.80"),
        (PenaltyKind.RETARD_SOIR, "2026-11-05", "3.00"),
    ]
    assert AuditEntry.objects.filter(action="facturation.avertissements").count() == 1


def test_it_is_sent_once_only(world, durand, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert warn(world) == 1
    tick(durand.members.get(first_names="Léa"), world.meal, NOV_DAYS[4], present=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert warn(world, today=date(2026, 11, 27)) == 0
    assert len(mail.outbox) == 1
    assert PenaltyWarning.objects.count() == 1


def test_no_rule_in_force_no_warning(world, durand, django_capture_on_commit_callbacks):
    PenaltyRule.objects.filter(commune=world.commune).exclude(
        kind=PenaltyKind.ABSENCE_JUSTIFIEE
    ).delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert warn(world) == 0
    assert mail.outbox == []


def test_a_family_without_address_is_not_warned_nor_recorded(
    world, django_capture_on_commit_callbacks
):
    silent = family(world, "MUETTE")
    kid = child(world, silent, "Ana", date(2019, 1, 1))
    book(kid, world.am, NOV_DAYS[:1])
    tick(kid, world.am, NOV_DAYS[0], present=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert warn(world) == 0
    assert not PenaltyWarning.objects.exists()


def test_without_the_procedure_the_mail_says_to_contact_the_regie(
    world, durand, django_capture_on_commit_callbacks
):
    Procedure.objects.filter(slug="contestation-facturation").update(is_enabled=False)
    world.regie.email = "regie@villebois.fr"
    world.regie.save()
    with django_capture_on_commit_callbacks(execute=True):
        warn(world)
    body = mail.outbox[0].body
    assert "contestation-facturation" not in body
    assert "contactez la régie avant la facturation :\nregie@villebois.fr" in body


def test_the_contest_link_opens_the_procedure_for_the_family(
    world, durand, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        warn(world)
    link = next(
        line for line in mail.outbox[0].body.splitlines() if "contestation-facturation" in line
    ).removeprefix("http://testserver")
    client.force_login(durand.user)
    page = client.get(link)
    assert page.status_code == 200
    assert "Contester une pénalité" in page.content.decode()
    started = client.post(link)
    assert started.status_code == 302
    demande = Demande.objects.get(procedure__slug="contestation-facturation")
    assert demande.procedure.service.commune == world.commune


def test_the_command(world, durand, django_capture_on_commit_callbacks):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_penalty_warnings", "--commune", "villebois", stdout=out)
    assert out.getvalue() == "ENF 2026-11 : 1 avertissement(s) envoyé(s).\n"
    assert len(mail.outbox) == 1
    with pytest.raises(CommandError):
        call_command("send_penalty_warnings", "--commune", "villebois", "--month", "2026-12")
    with pytest.raises(CommandError):
        call_command("send_penalty_warnings", "--commune", "nulle-part")
    with pytest.raises(CommandError):
        call_command("send_penalty_warnings", "--commune", "villebois", "--month", "novembre")
