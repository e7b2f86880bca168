"""The waiting list's offers: the chain (a family declines, the next lets it expire, the next
accepts), the seat held all along and freed when the list is empty, the deadline at its minute,
expiry and acceptance racing, the « Places proposées » pages and who may see them, the links from
« Activités » and the calendar, and the scheduler's command."""

import re
import threading
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parvis.accounts.models import AuditEntry
from parvis.activities.models import BookingEvent, BookingStatus, Reservation, UnitDay
from parvis.activities.rules import PARIS
from parvis.activities.services import validate_basket
from parvis.activities.services_offres import (
    OfferExpired,
    OfferUnavailable,
    accept_offer,
    decline_offer,
    expire_offers,
)
from parvis.activities.tests.factories import make_activity, register
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory

BACKEND = "parvis.accounts.backends.CommuneBackend"
MONDAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)  # Thursday: Monday is bookable until Friday 9h


class Family:
    def __init__(self, commune, name):
        self.famille = FamilleFactory(commune=commune, name=name)
        self.child = ChildFactory(famille=self.famille, first_names=name.capitalize())
        self.user = FamilyAccessFactory(famille=self.famille).user

    def book(self, activity, *, add=(), remove=(), now=NOW):
        unit = activity.units.get()
        return validate_basket(
            famille=self.famille, child=self.child, activity=activity, actor=self.user, now=now,
            add=[(unit, d) for d in add], remove=[(unit, d) for d in remove],
        )  # fmt: skip

    def reservation(self):
        return Reservation.objects.filter(child=self.child).first()


def taken() -> int:
    return UnitDay.objects.get().taken


def text_of(response) -> str:
    html = response.content.decode()
    text = re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").replace("&quot;", '"')
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def line():
    """A unit with one seat, held by HOLDER, and A, B, C on its waiting list in that order."""
    commune = CommuneFactory()
    activity = make_activity(commune, capacity=1, offer_hours=24)
    people = {name: Family(commune, name) for name in ("HOLDER", "ALICE", "BRUNO", "CLARA")}
    for person in people.values():
        register(person.child, activity)
        person.book(activity, add=[MONDAY])
    assert people["HOLDER"].reservation().status == BookingStatus.RESERVEE
    assert [people[n].reservation().status for n in ("ALICE", "BRUNO", "CLARA")] == [
        BookingStatus.LISTE_ATTENTE
    ] * 3
    mail.outbox.clear()
    return activity, people


def offer_url(commune, reservation):
    return f"http://testserver/{commune.slug}/mon-espace/reservations/places-proposees/{reservation.pk}/"


# --- The chain ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_decline_then_expiry_then_acceptance_passes_the_seat_down_the_list(
    line, django_capture_on_commit_callbacks
):
    activity, people = line
    alice, bruno, clara = people["ALICE"], people["BRUNO"], people["CLARA"]
    commune = activity.commune
    with django_capture_on_commit_callbacks(execute=True):
        people["HOLDER"].book(activity, remove=[MONDAY])
    offer = alice.reservation()
    assert offer.status == BookingStatus.PROPOSEE
    assert offer.offer_expires_at == NOW + timedelta(hours=24)
    assert taken() == 1  # held for the offer

    # Alice declines an hour later: the seat goes to Bruno for 24 hours from then.
    declined_at = NOW + timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        decline_offer(reservation=offer, actor=alice.user, now=declined_at)
    assert alice.reservation() is None
    second = bruno.reservation()
    assert second.status == BookingStatus.PROPOSEE
    assert second.offer_expires_at == declined_at + timedelta(hours=24)
    assert clara.reservation().status == BookingStatus.LISTE_ATTENTE
    assert taken() == 1

    # Bruno does nothing: at the minute before, nothing expires; at the minute, it does.
    with django_capture_on_commit_callbacks(execute=True):
        assert expire_offers(now=second.offer_expires_at - timedelta(minutes=1)) == 0
    assert bruno.reservation().status == BookingStatus.PROPOSEE
    expired_at = second.offer_expires_at
    with django_capture_on_commit_callbacks(execute=True):
        assert expire_offers(now=expired_at) == 1
    assert bruno.reservation() is None
    third = clara.reservation()
    assert third.status == BookingStatus.PROPOSEE
    assert third.offer_expires_at == expired_at + timedelta(hours=24)
    assert taken() == 1

    # Clara accepts: the seat is hers, the count unchanged.
    accepted = accept_offer(reservation=third, actor=clara.user, now=expired_at)
    assert accepted.status == BookingStatus.RESERVEE
    assert clara.reservation().status == BookingStatus.RESERVEE
    assert clara.reservation().offer_expires_at is None
    assert taken() == 1

    # One offer e-mail each, in order, each with its page and its deadline.
    assert [m.to for m in mail.outbox] == [
        [alice.user.email],
        [bruno.user.email],
        [clara.user.email],
    ]
    assert offer_url(commune, offer) in mail.outbox[0].body
    assert "vendredi 27 novembre 2026 à 10:00" in mail.outbox[0].body
    assert offer_url(commune, second) in mail.outbox[1].body
    assert "vendredi 27 novembre 2026 à 11:00" in mail.outbox[1].body
    assert "samedi 28 novembre 2026 à 11:00" in mail.outbox[2].body

    history = {
        (famille, action)
        for famille, action in BookingEvent.objects.filter(
            action__in=["declined", "expired", "accepted"]
        ).values_list("famille_id", "action")
    }
    assert history == {
        (alice.famille.pk, "declined"),
        (bruno.famille.pk, "expired"),
        (clara.famille.pk, "accepted"),
    }
    audits = dict(
        AuditEntry.objects.filter(action__startswith="reservation.offer_").values_list(
            "action", "famille_id"
        )
    )
    assert audits == {
        "reservation.offer_declined": alice.famille.pk,
        "reservation.offer_expired": bruno.famille.pk,
        "reservation.offer_accepted": clara.famille.pk,
    }
    assert AuditEntry.objects.get(action="reservation.offer_expired").actor is None


@pytest.mark.django_db
def test_the_seat_is_freed_when_nobody_is_left_waiting(line, django_capture_on_commit_callbacks):
    activity, people = line
    people["HOLDER"].book(activity, remove=[MONDAY])
    for name in ("ALICE", "BRUNO", "CLARA"):
        offer = people[name].reservation()
        assert offer.status == BookingStatus.PROPOSEE
        assert taken() == 1
        decline_offer(reservation=offer, actor=people[name].user, now=NOW)
    assert not Reservation.objects.exists()
    assert taken() == 0
    # And the next family books it straight away.
    latecomer = Family(activity.commune, "DAVID")
    register(latecomer.child, activity)
    assert latecomer.book(activity, add=[MONDAY]).added
    assert taken() == 1


@pytest.mark.django_db
def test_acceptance_waits_for_an_agent_when_the_activity_needs_instruction(line):
    activity, people = line
    activity.needs_instruction = True
    activity.save()
    people["HOLDER"].book(activity, remove=[MONDAY])
    offer = people["ALICE"].reservation()
    accepted = accept_offer(reservation=offer, actor=people["ALICE"].user, now=NOW)
    assert accepted.status == BookingStatus.EN_ATTENTE
    assert taken() == 1


# --- The deadline at its minute -------------------------------------------------------------------


@pytest.mark.django_db
def test_accept_at_the_minute_before_expiry_works(line):
    activity, people = line
    people["HOLDER"].book(activity, remove=[MONDAY])
    offer = people["ALICE"].reservation()
    accept_offer(
        reservation=offer,
        actor=people["ALICE"].user,
        now=offer.offer_expires_at - timedelta(minutes=1),
    )
    assert people["ALICE"].reservation().status == BookingStatus.RESERVEE


@pytest.mark.django_db
@pytest.mark.parametrize("late", [timedelta(0), timedelta(minutes=1)])
def test_accept_at_or_after_expiry_is_refused_and_changes_nothing(line, late):
    activity, people = line
    people["HOLDER"].book(activity, remove=[MONDAY])
    offer = people["ALICE"].reservation()
    with pytest.raises(OfferExpired) as refused:
        accept_offer(
            reservation=offer, actor=people["ALICE"].user, now=offer.offer_expires_at + late
        )
    assert "délai pour accepter cette place est dépassé" in str(refused.value)
    assert people["ALICE"].reservation().status == BookingStatus.PROPOSEE
    assert not BookingEvent.objects.filter(action="accepted").exists()


@pytest.mark.django_db
def test_expired_then_accept_is_refused(line, django_capture_on_commit_callbacks):
    activity, people = line
    people["HOLDER"].book(activity, remove=[MONDAY])
    offer = people["ALICE"].reservation()
    assert expire_offers(now=offer.offer_expires_at) == 1
    with pytest.raises(OfferUnavailable):
        accept_offer(reservation=offer, actor=people["ALICE"].user, now=NOW)
    with pytest.raises(OfferUnavailable):
        decline_offer(reservation=offer, actor=people["ALICE"].user, now=NOW)
    assert people["BRUNO"].reservation().status == BookingStatus.PROPOSEE
    assert taken() == 1


@pytest.mark.django_db
def test_accepted_then_expiry_does_nothing(line):
    activity, people = line
    people["HOLDER"].book(activity, remove=[MONDAY])
    offer = people["ALICE"].reservation()
    expires = offer.offer_expires_at
    accept_offer(reservation=offer, actor=people["ALICE"].user, now=NOW)
    assert expire_offers(now=expires + timedelta(days=1)) == 0
    assert people["ALICE"].reservation().status == BookingStatus.RESERVEE
    assert people["BRUNO"].reservation().status == BookingStatus.LISTE_ATTENTE
    with pytest.raises(OfferUnavailable):
        accept_offer(reservation=offer, actor=people["ALICE"].user, now=NOW)


@pytest.mark.django_db(transaction=True)
def test_acceptance_and_expiry_at_the_same_instant_cannot_both_win():
    commune = CommuneFactory()
    activity = make_activity(commune, capacity=1)
    people = [Family(commune, name) for name in ("HOLDER", "ALICE", "BRUNO")]
    for person in people:
        register(person.child, activity)
        person.book(activity, add=[MONDAY])
    holder, alice, bruno = people
    holder.book(activity, remove=[MONDAY])
    offer = alice.reservation()
    expires = offer.offer_expires_at
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def accept():
        try:
            barrier.wait()
            accept_offer(reservation=offer, actor=alice.user, now=expires - timedelta(seconds=1))
            outcomes.append("accepted")
        except OfferUnavailable:
            outcomes.append("refused")
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    def expire():
        try:
            barrier.wait()
            outcomes.append(f"expired {expire_offers(now=expires)}")
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=accept), threading.Thread(target=expire)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(outcomes) in (["accepted", "expired 0"], ["expired 1", "refused"])
    assert taken() == 1
    statuses = {p.famille.name: getattr(p.reservation(), "status", None) for p in (alice, bruno)}
    if "accepted" in outcomes:
        assert statuses == {"ALICE": "reservee", "BRUNO": "liste_attente"}
    else:
        assert statuses == {"ALICE": None, "BRUNO": "proposee"}


# --- The command -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_expires_the_due_offers_and_says_how_many(line, capsys):
    activity, people = line
    people["HOLDER"].book(activity, remove=[MONDAY])
    expires = people["ALICE"].reservation().offer_expires_at
    with time_machine.travel(expires - timedelta(minutes=1), tick=False):
        call_command("expire_offers")
    assert capsys.readouterr().out.strip() == "0 offre(s) expirée(s)."
    with time_machine.travel(expires, tick=False):
        call_command("expire_offers")
    assert capsys.readouterr().out.strip() == "1 offre(s) expirée(s)."
    assert people["ALICE"].reservation() is None
    assert people["BRUNO"].reservation().status == BookingStatus.PROPOSEE


# --- The pages ---------------------------------------------------------------------------------


@pytest.fixture
def offered(line):
    """Alice's offer, Alice logged in, the clock at NOW."""
    activity, people = line
    people["HOLDER"].book(activity, remove=[MONDAY])
    return activity, people, people["ALICE"].reservation()


@pytest.fixture
def alice(client, offered):
    client.force_login(offered[1]["ALICE"].user, backend=BACKEND)
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        yield client


def page(name, commune, **kwargs):
    return reverse(f"activities:{name}", kwargs={"commune": commune.slug, **kwargs})


@pytest.mark.django_db
def test_the_list_shows_child_activity_unit_day_and_deadline(alice, offered):
    activity, _people, offer = offered
    response = alice.get(page("offres", activity.commune))
    assert response.status_code == 200
    text = text_of(response)
    assert "Places proposées" in text
    assert "Alice" in text
    assert "Accueil Périscolaire Maternelle" in text
    assert "Acc Matin" in text
    assert "lundi 30 novembre 2026" in text
    assert "À accepter avant le vendredi 27 novembre 2026 à 10:00." in text
    assert page("offre", activity.commune, pk=offer.pk) in response.content.decode()
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_the_list_costs_the_same_with_more_offers(alice, offered, django_assert_max_num_queries):
    activity, people, _offer = offered
    with CaptureQueriesContext(connection) as one:
        alice.get(page("offres", activity.commune))
    sibling = ChildFactory(famille=people["ALICE"].famille, first_names="Anna")
    for day in (date(2026, 12, 1), date(2026, 12, 3), date(2026, 12, 4)):
        Reservation.objects.create(
            commune=activity.commune, famille=sibling.famille, child=sibling,
            unit=activity.units.get(), day=day, status=BookingStatus.PROPOSEE,
            offer_expires_at=NOW + timedelta(hours=5),
        )  # fmt: skip
    with django_assert_max_num_queries(len(one)):
        response = alice.get(page("offres", activity.commune))
    assert text_of(response).count("Accepter ou refuser") == 4


@pytest.mark.django_db
def test_accepting_from_the_page(alice, offered):
    activity, people, offer = offered
    url = page("offre", activity.commune, pk=offer.pk)
    response = alice.get(url)
    assert response.status_code == 200
    text = text_of(response)
    assert "Accepter cette place" in text and "Refuser" in text
    assert "vendredi 27 novembre 2026 à 10:00" in text
    response = alice.post(url, {"action": "accepter"}, follow=True)
    assert response.redirect_chain[-1][0] == page("offres", activity.commune)
    assert (
        "Vous avez accepté la place : Alice, Acc Matin (Accueil Périscolaire Maternelle) "
        "le 30/11/2026." in text_of(response)
    )
    assert people["ALICE"].reservation().status == BookingStatus.RESERVEE
    # No longer an offer: its page is gone.
    assert alice.get(url).status_code == 404


@pytest.mark.django_db
def test_declining_from_the_page_offers_the_seat_to_the_next(
    alice, offered, django_capture_on_commit_callbacks
):
    activity, people, offer = offered
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(
            page("offre", activity.commune, pk=offer.pk), {"action": "refuser"}, follow=True
        )
    assert "Vous avez refusé la place" in text_of(response)
    assert people["ALICE"].reservation() is None
    assert people["BRUNO"].reservation().status == BookingStatus.PROPOSEE
    assert mail.outbox[-1].to == [people["BRUNO"].user.email]


@pytest.mark.django_db
def test_an_unknown_action_changes_nothing(alice, offered):
    activity, people, offer = offered
    response = alice.post(page("offre", activity.commune, pk=offer.pk), {"action": "autre"})
    assert response.status_code == 302
    assert people["ALICE"].reservation().status == BookingStatus.PROPOSEE


@pytest.mark.django_db
def test_an_expired_offer_says_so_and_cannot_be_accepted(client, offered):
    activity, people, offer = offered
    client.force_login(people["ALICE"].user, backend=BACKEND)
    url = page("offre", activity.commune, pk=offer.pk)
    with time_machine.travel(offer.offer_expires_at, tick=False):
        response = client.get(url)
        assert "délai pour accepter cette place est dépassé" in text_of(response)
        assert "Accepter cette place" not in text_of(response)
        response = client.post(url, {"action": "accepter"}, follow=True)
    assert "délai pour accepter cette place est dépassé" in text_of(response)
    assert people["ALICE"].reservation().status == BookingStatus.PROPOSEE


@pytest.mark.django_db
def test_other_families_communes_and_non_offers_are_404(alice, offered):
    activity, people, _offer = offered
    commune = activity.commune
    # Another family's offer, in the same commune.
    bruno_offer = people["BRUNO"].reservation()
    bruno_offer.status = BookingStatus.PROPOSEE
    bruno_offer.offer_expires_at = NOW + timedelta(hours=24)
    bruno_offer.save()
    # Another commune's offer.
    elsewhere = CommuneFactory()
    other_activity = make_activity(elsewhere, capacity=1)
    stranger = Family(elsewhere, "ERWAN")
    foreign = Reservation.objects.create(
        commune=elsewhere, famille=stranger.famille, child=stranger.child,
        unit=other_activity.units.get(), day=MONDAY, status=BookingStatus.PROPOSEE,
        offer_expires_at=NOW + timedelta(hours=24),
    )  # fmt: skip
    # Alice's own booking that is not an offer.
    booked = Reservation.objects.create(
        commune=commune, famille=people["ALICE"].famille, child=people["ALICE"].child,
        unit=activity.units.get(), day=date(2026, 12, 1), status=BookingStatus.RESERVEE,
    )  # fmt: skip
    for target in (bruno_offer, foreign, booked):
        url = page("offre", commune, pk=target.pk)
        assert alice.get(url).status_code == 404
        assert alice.post(url, {"action": "accepter"}).status_code == 404
        assert alice.post(url, {"action": "refuser"}).status_code == 404
    assert (
        page("offre", commune, pk=bruno_offer.pk)
        not in alice.get(page("offres", commune)).content.decode()
    )
    assert Reservation.objects.get(pk=bruno_offer.pk).status == BookingStatus.PROPOSEE
    assert Reservation.objects.get(pk=foreign.pk).status == BookingStatus.PROPOSEE
    assert Reservation.objects.get(pk=booked.pk).status == BookingStatus.RESERVEE


@pytest.mark.django_db
def test_the_pages_ask_to_log_in(client, offered):
    activity, _people, offer = offered
    for url in (page("offres", activity.commune), page("offre", activity.commune, pk=offer.pk)):
        response = client.get(url)
        assert response.status_code == 302
        assert "/connexion/" in response["Location"]


@pytest.mark.django_db
def test_activites_links_the_offers_when_any_and_the_agenda(alice, offered):
    activity, people, offer = offered
    commune = activity.commune
    response = alice.get(page("index", commune))
    html = response.content.decode()
    assert "Places proposées (1 à accepter)" in text_of(response)
    assert page("offres", commune) in html
    assert page("agenda", commune) in html
    accept_offer(reservation=offer, actor=people["ALICE"].user, now=NOW)
    response = alice.get(page("index", commune))
    assert page("offres", commune) not in response.content.decode()
    assert "Agenda et rappels" in text_of(response)


@pytest.mark.django_db
def test_the_calendar_links_an_offered_day_to_its_offer(alice, offered):
    activity, people, offer = offered
    response = alice.get(
        reverse(
            "activities:calendrier",
            kwargs={
                "commune": activity.commune.slug,
                "activity": activity.slug,
                "child": people["ALICE"].child.pk,
            },
        )
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count(page("offre", activity.commune, pk=offer.pk)) == 1


@pytest.mark.django_db
def test_once_the_unit_has_started_the_seat_is_freed_not_offered(line):
    """An offer that lapses once the unit has begun (Monday 07:30) frees the seat: nobody is
    e-mailed an offer for a day already under way."""
    activity, people = line
    people["HOLDER"].book(activity, remove=[MONDAY])
    assert people["ALICE"].reservation().status == BookingStatus.PROPOSEE
    mail.outbox.clear()
    at_start = datetime(2026, 11, 30, 7, 30, tzinfo=PARIS)
    with time_machine.travel(at_start, tick=False):
        assert expire_offers(now=at_start) == 1
    assert people["BRUNO"].reservation().status == BookingStatus.LISTE_ATTENTE
    assert mail.outbox == []
    assert taken() == 0


@pytest.mark.django_db
def test_a_minute_before_the_unit_starts_the_next_family_is_still_offered(line):
    activity, people = line
    people["HOLDER"].book(activity, remove=[MONDAY])
    before = datetime(2026, 11, 30, 7, 29, tzinfo=PARIS)
    with time_machine.travel(before, tick=False):
        decline_offer(reservation=people["ALICE"].reservation(), actor=people["ALICE"].user,
                      now=before)  # fmt: skip
    assert people["BRUNO"].reservation().status == BookingStatus.PROPOSEE
    assert taken() == 1


@pytest.mark.django_db
def test_a_capacity_set_after_the_bookings_counts_them_when_a_seat_frees():
    commune = CommuneFactory()
    activity = make_activity(commune)  # no capacity: no seat counter
    first, second = Family(commune, "PREMIER"), Family(commune, "SECOND")
    for person in (first, second):
        register(person.child, activity)
        person.book(activity, add=[MONDAY])
    assert not UnitDay.objects.exists()
    activity.units.update(capacity=2)
    activity.refresh_from_db()
    first.book(activity, remove=[MONDAY])
    assert taken() == 1  # SECOND still holds a seat
