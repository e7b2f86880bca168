"""Issue 23, « Valider » under half its CPU: no household grid read to validate (the service reads
what it checks under its locks), the summary e-mail rendered by its task from what « Valider »
saved (not in the request), nothing written for a basket whose days were no change, and on
PostgreSQL the bookings, their history and the seat counters written by single statements of
arrays (reservations._unnest_insert, _save_counts) with the same rows as Django's."""

from datetime import date, datetime
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parvis.accounts.models import AuditEntry
from parvis.activities import selectors_foyer, tasks
from parvis.activities.models import BookingEvent, BookingStatus, Reservation, UnitDay
from parvis.activities.rules import PARIS
from parvis.activities.services_foyer import ChildBasket, validate_household_basket
from parvis.activities.tests import test_foyer as base
from parvis.activities.tests.test_foyer import NOW, TUESDAY_24, book, key, url
from parvis.background.models import OutgoingEmail
from parvis.families.tests.factories import ChildFactory

pytestmark = pytest.mark.django_db

# A household of two children, logged in, on Friday 20 November 2026 at 10:00.
clock, family, logged = base.clock, base.family, base.logged

THURSDAY, FRIDAY = date(2026, 12, 3), date(2026, 12, 4)


def basket(family):
    lea, hugo, matin, repas = family["lea"], family["hugo"], family["matin"], family["repas"]
    book(hugo, repas, THURSDAY)
    return {
        "ajout": [key(lea, matin, TUESDAY_24), key(hugo, repas, FRIDAY)],
        "retrait": [key(hugo, repas, THURSDAY)],
        "vue": "mois",
        "debut": "2026-11-01",
    }


def test_valider_reads_no_grid_and_costs_fewer_queries(
    logged, family, django_capture_on_commit_callbacks
):
    """Before: the grid of the basket's days (closures, bookings, waiting ranks, full days) was
    read, then read again by the service under its locks: 25 queries here, 21 since."""
    data = basket(family)
    with (
        mock.patch.object(selectors_foyer, "grid", side_effect=AssertionError("grid read")),
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=False),
    ):
        response = logged.post(url("foyer_panier", family), data)
    assert response.status_code == 302
    assert response["Location"] == url("foyer_confirmation", family)
    assert len(queries) <= 21, [q["sql"][:120] for q in queries]
    assert sorted(Reservation.objects.values_list("child__first_names", "day")) == [
        ("Hugo", FRIDAY),
        ("Léa", TUESDAY_24),
    ]


def test_a_refused_valider_still_shows_every_problem_next_to_its_day(logged, family):
    data = basket(family)
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=PARIS), tick=False):
        response = logged.post(url("foyer_panier", family), data)
    assert response.status_code == 200
    (group,) = [g for g in response.context["groups"] if g.line.child == family["lea"]]
    assert [c.problem for c in group.add] == [
        "date limite dépassée (lundi 23 novembre 2026 à 09:00)"
    ]


def test_a_basket_of_no_change_saves_nothing_and_goes_back_to_the_grid(
    logged, family, django_capture_on_commit_callbacks
):
    """Days posted as added but booked meanwhile (another tab), a removal of a day not booked:
    no booking, no history, no audit row, no e-mail; the grid again."""
    lea, hugo, matin, repas = family["lea"], family["hugo"], family["matin"], family["repas"]
    book(lea, matin, TUESDAY_24)
    data = {"ajout": [key(lea, matin, TUESDAY_24)], "retrait": [key(hugo, repas, FRIDAY)]}
    with django_capture_on_commit_callbacks(execute=True):
        response = logged.post(url("foyer_panier", family), data)
    assert response.status_code == 302
    assert response["Location"] == url("foyer", family)
    assert Reservation.objects.count() == 1
    assert not BookingEvent.objects.exists()
    assert not AuditEntry.objects.filter(action="reservation.basket").exists()
    assert not mail.outbox


def test_a_posted_day_the_grid_has_no_cell_for_is_left_out(logged, family):
    """A Saturday, a unit of an activity the child is not registered to: as the grid, which has
    no cell for them, « Valider » ignores them (nothing to refuse next to a day never shown)."""
    lea, hugo, matin = family["lea"], family["hugo"], family["matin"]
    saturday = date(2026, 12, 5)
    data = {"ajout": [key(lea, matin, saturday), key(hugo, matin, FRIDAY)]}
    response = logged.post(url("foyer_panier", family), data)
    assert response.status_code == 302
    assert response["Location"] == url("foyer", family)
    assert not Reservation.objects.exists()


def test_the_summary_email_is_rendered_by_its_task_not_by_valider(
    family, django_capture_on_commit_callbacks
):
    lea, hugo, matin, repas = family["lea"], family["hugo"], family["matin"], family["repas"]
    book(hugo, repas, THURSDAY)
    baskets = [
        ChildBasket(child=lea, activity=family["peri"], add=[(matin, TUESDAY_24)]),
        ChildBasket(
            child=hugo, activity=family["cantine"], add=[(repas, FRIDAY)],
            remove=[(repas, THURSDAY)],
        ),
    ]  # fmt: skip
    with (
        mock.patch("django.template.loader.render_to_string") as rendered,
        mock.patch("parvis.activities.services.enqueue_on_commit") as enqueued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        validate_household_basket(baskets=baskets, actor=family["user"], now=NOW)
    rendered.assert_not_called()
    assert not OutgoingEmail.objects.exists()
    (call,) = enqueued.call_args_list
    assert call.args == (tasks.send_baskets_summary,)
    arguments = call.kwargs
    assert arguments["user_id"] == family["user"].pk
    assert arguments["commune_id"] == family["commune"].pk
    assert isinstance(arguments["summary"], str)  # JSON: one value for django-tasks to check

    # Whatever happened since (Léa's day cancelled at the guichet), the e-mail says what
    # « Valider » saved.
    Reservation.objects.filter(child=lea).delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_baskets_summary.call(**arguments) is True
    (message,) = mail.outbox
    assert message.to == [family["user"].email]
    assert "pour Léa (Accueil Périscolaire Maternelle)" in message.body
    assert "mardi 24/11/2026, Acc Matin (PERI_AM_M)" in message.body
    assert "pour Hugo (Restauration scolaire)" in message.body
    assert "Jours annulés :\n- jeudi 03/12/2026, Repas (REPAS)" in message.body


def test_the_summary_says_the_waiting_rank_of_the_instant_of_valider(
    family, django_capture_on_commit_callbacks
):
    matin = family["matin"]
    matin.capacity = 1
    matin.save()
    zoe = ChildFactory(famille=family["famille"], first_names="Zoé", birth_date=date(2021, 9, 1))
    from parvis.activities.tests.factories import register

    register(zoe, family["peri"])
    baskets = [
        ChildBasket(child=child, activity=family["peri"], add=[(matin, TUESDAY_24)])
        for child in (family["lea"], zoe)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        validate_household_basket(baskets=baskets, actor=family["user"], now=NOW)
    (message,) = mail.outbox
    assert "En liste d'attente :\n- mardi 24/11/2026, Acc Matin (PERI_AM_M) — rang 1" in (
        message.body
    )


def test_no_address_no_task(family, django_capture_on_commit_callbacks):
    user = family["user"]
    user.email = ""
    user.save()
    add = [(family["matin"], TUESDAY_24)]
    baskets = [ChildBasket(child=family["lea"], activity=family["peri"], add=add)]
    with (
        mock.patch("parvis.activities.services.enqueue_on_commit") as enqueued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        validate_household_basket(baskets=baskets, actor=user, now=NOW)
    enqueued.assert_not_called()


def test_the_bulk_writes_keep_every_column_and_the_counters(family):
    """The bookings (ids, statuses, queued_at, commune), their history rows and the seat
    counters as Django's bulk writes leave them, on PostgreSQL (single statements of arrays) as
    on SQLite (Django's)."""
    lea, matin = family["lea"], family["matin"]
    matin.capacity = 1
    matin.save()
    zoe = ChildFactory(famille=family["famille"], first_names="Zoé", birth_date=date(2021, 9, 1))
    from parvis.activities.tests.factories import register

    register(zoe, family["peri"])
    days = [TUESDAY_24, date(2026, 11, 26), date(2026, 11, 27)]
    baskets = [
        ChildBasket(child=child, activity=family["peri"], add=[(matin, day) for day in days])
        for child in (lea, zoe)
    ]
    validate_household_basket(baskets=baskets, actor=family["user"], now=NOW)
    lea_basket, zoe_basket = baskets
    rows = {(r.child_id, r.day): r for r in Reservation.objects.filter(famille=family["famille"])}
    assert len(rows) == 6
    for created in lea_basket.result.added + zoe_basket.result.waiting:
        stored = rows[(created.child_id, created.day)]
        assert created.pk == stored.pk
        assert created.status == stored.status
        assert created.queued_at == stored.queued_at
        assert stored.commune_id == family["commune"].pk
        assert stored.famille_id == family["famille"].pk
        assert stored.offer_expires_at is None
    assert {r.status for r in lea_basket.result.added} == {BookingStatus.RESERVEE}
    assert {r.status for r in zoe_basket.result.waiting} == {BookingStatus.LISTE_ATTENTE}
    assert zoe_basket.result.ranks == {r.pk: 1 for r in zoe_basket.result.waiting}
    events = list(
        BookingEvent.objects.order_by("id").values_list(
            "commune_id", "famille_id", "child_id", "unit_id", "day", "action", "status",
            "actor_id",
        )
    )  # fmt: skip
    assert events == [
        (family["commune"].pk, family["famille"].pk, child.pk, matin.pk, day, "added", status,
         family["user"].pk)
        for child, status in ((lea, BookingStatus.RESERVEE), (zoe, BookingStatus.LISTE_ATTENTE))
        for day in days
    ]  # fmt: skip
    assert all(e.at is not None for e in BookingEvent.objects.all())
    assert dict(UnitDay.objects.filter(unit=matin).values_list("day", "taken")) == {
        day: 1 for day in days
    }


def test_the_basket_page_builds_no_tool_form(logged, family):
    """« Voir le panier » shows no « Copier la semaine » nor « Appliquer un modèle » form: they
    are not built (each costs the household's columns and bounds, and a form's fields)."""
    data = {**basket(family), "action": "panier"}
    with mock.patch(
        "parvis.activities.views_foyer.PatternForm", side_effect=AssertionError("form built")
    ):
        response = logged.post(url("foyer", family), data)
    assert response.status_code == 200
    assert [g.line.child.first_names for g in response.context["groups"]] == ["Léa", "Hugo"]
