"""The household grid through its URLs: every child and unit on one page for a month, a quarter
or the school year, each cell with the one-child calendar's states and reasons, in a number of
queries that depends neither on the children nor on the weeks; « Copier la semaine » and
« Appliquer un modèle de semaine » (only changeable cells, the others counted with their reason);
the basket grouped by child and activity and its « Valider » in one transaction (one refusal:
nothing saved for anyone); forged keys and other families never booked."""

import re
import threading
from datetime import date, datetime, time

import pytest
import time_machine
from django.core import mail
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parvis.activities.models import (
    ActivityClosure,
    BookingStatus,
    Reservation,
    Unit,
    UnitDay,
)
from parvis.activities.rules import PARIS
from parvis.activities.selectors_foyer import period
from parvis.activities.tests.factories import make_activity, register
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory

pytestmark = pytest.mark.django_db

BACKEND = "parvis.accounts.backends.CommuneBackend"
# Friday 20 November 2026, 10:00 in Paris: Monday 23's deadline (Friday 09:00) has passed,
# Tuesday 24's (Monday 09:00) has not. Christmas holidays (zone C): 19/12/2026 to 03/01/2027.
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)
MONDAY_23, TUESDAY_24 = date(2026, 11, 23), date(2026, 11, 24)


def html_of(response) -> str:
    return " ".join(response.content.decode().split())


def text_of(response) -> str:
    html = html_of(response)
    text = re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").replace("&quot;", '"')
    return re.sub(r"[ \t\r\n\f\v]+", " ", text)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def make_canteen(commune, slug="cantine"):
    activity = make_activity(commune, name="Restauration scolaire", slug=slug)
    Unit.objects.filter(activity=activity).update(
        code="REPAS", label="Repas", starts_at=time(11, 30), ends_at=time(13, 30)
    )
    return activity


@pytest.fixture
def family():
    """DURAND: Léa registered to the morning care (PERI_AM_M) and the canteen, Hugo to the
    canteen only."""
    commune = CommuneFactory()
    famille = FamilleFactory(commune=commune, name="DURAND")
    lea = ChildFactory(famille=famille, first_names="Léa", birth_date=date(2021, 3, 1))
    hugo = ChildFactory(famille=famille, first_names="Hugo", birth_date=date(2022, 5, 1))
    access = FamilyAccessFactory(famille=famille)
    peri, cantine = make_activity(commune), make_canteen(commune)
    for child, activity in [(lea, peri), (lea, cantine), (hugo, cantine)]:
        register(child, activity)
    return {
        "commune": commune, "famille": famille, "lea": lea, "hugo": hugo, "user": access.user,
        "peri": peri, "cantine": cantine, "matin": peri.units.get(), "repas": cantine.units.get(),
    }  # fmt: skip


@pytest.fixture
def logged(client, family):
    client.force_login(family["user"], backend=BACKEND)
    return client


def url(name, family, **query):
    base = reverse(f"activities:{name}", kwargs={"commune": family["commune"].slug})
    if query:
        base += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return base


def key(child, unit, day):
    return f"{child.pk}:{unit.pk}:{day.isoformat()}"


def book(child, unit, day, status=BookingStatus.RESERVEE):
    return Reservation.objects.create(
        commune=unit.commune, famille=child.famille, child=child, unit=unit, day=day,
        status=status,
    )  # fmt: skip


def cell(response, child, unit, day):
    return response.context["grid"].cells[(child.pk, unit.pk, day)]


def state(response, child, unit, day):
    found = cell(response, child, unit, day)
    return (found.wanted, found.editable)


def booked(child=None):
    rows = Reservation.objects.all()
    if child is not None:
        rows = rows.filter(child=child)
    return sorted((r.child.first_names, r.unit.code, r.day) for r in rows)


# --- The period shown ----------------------------------------------------------------------------


def test_periods_month_quarter_and_school_year():
    today = date(2026, 11, 20)
    month = period(None, None, today=today)
    assert (month.vue, month.start, month.end) == ("mois", date(2026, 11, 1), date(2026, 11, 30))
    assert (month.previous, month.next) == (date(2026, 10, 1), date(2026, 12, 1))
    assert month.label == "Novembre 2026"
    quarter = period("trimestre", date(2026, 12, 15), today=today)
    assert (quarter.start, quarter.end) == (date(2026, 12, 1), date(2027, 2, 28))
    assert (quarter.previous, quarter.next) == (date(2026, 9, 1), date(2027, 3, 1))
    assert quarter.label == "De décembre 2026 à février 2027"
    year = period("annee", date(2027, 3, 1), today=today)
    assert (year.start, year.end) == (date(2026, 9, 1), date(2027, 8, 31))
    assert (year.previous, year.next) == (date(2025, 9, 1), date(2027, 9, 1))
    assert year.label == "Année scolaire 2026-2027"
    assert period("n'importe", None, today=today) == month


def test_the_grid_shows_every_child_and_unit_with_the_calendars_states(logged, family):
    lea, hugo, matin, repas = family["lea"], family["hugo"], family["matin"], family["repas"]
    matin.capacity = 1
    matin.save()
    book(lea, matin, TUESDAY_24)
    book(hugo, repas, date(2026, 11, 26), status=BookingStatus.EN_ATTENTE)
    neighbour = ChildFactory(famille=FamilleFactory(commune=family["commune"]))
    book(neighbour, matin, date(2026, 11, 26))
    UnitDay.objects.create(unit=matin, day=date(2026, 11, 26), taken=1)
    book(neighbour, matin, date(2026, 11, 27), status=BookingStatus.LISTE_ATTENTE)
    book(lea, matin, date(2026, 11, 27), status=BookingStatus.LISTE_ATTENTE)
    offered = book(lea, repas, date(2026, 11, 30), status=BookingStatus.PROPOSEE)
    ActivityClosure.objects.create(commune=family["commune"], day=date(2026, 11, 19),
                                   reason="grève")  # fmt: skip

    response = logged.get(url("foyer", family))
    assert response.status_code == 200
    assert response.context["period"].vue == "mois"
    weeks = [week for week, _days in response.context["rows"]]
    assert weeks[0].monday == date(2026, 10, 26)
    assert weeks[-1].monday == date(2026, 11, 30)
    assert weeks[0].days[0] is None  # Monday 26 October: not in November
    assert state(response, lea, matin, TUESDAY_24) == (True, True)
    assert state(response, lea, matin, MONDAY_23) == (False, False)
    assert state(response, hugo, repas, date(2026, 11, 26)) == (True, True)
    assert (hugo.pk, matin.pk, date(2026, 11, 26)) not in response.context["grid"].cells
    text = text_of(response)
    assert "Toutes les réservations du foyer" in text
    assert "Léa" in text and "Hugo" in text
    assert "date limite dépassée (vendredi 20 novembre 2026 à 09:00)" in text
    assert "complet : une réservation irait en liste d'attente" in text
    assert "liste d'attente, rang 2" in text
    assert "◷ En attente d'instruction" in text
    assert "Modifications apportées ici" in text
    assert "Réservations antérieures en attente d'instruction" in text
    assert "Acc Matin PERI_AM_M , Léa, mardi 24/11/2026" in text
    html = html_of(response)
    assert f'value="{key(lea, matin, date(2026, 11, 30))}"' in html
    assert f'value="{key(lea, matin, MONDAY_23)}"' not in html  # locked: not in the form
    offer_url = reverse(
        "activities:offre", kwargs={"commune": family["commune"].slug, "pk": offered.pk}
    )
    assert offer_url in html
    # A day nobody can change for one same reason says it once.
    (thursday,) = [d for d in weeks[3].days if d and d.day == date(2026, 11, 19)]
    assert thursday.common_reason == "pas d'accueil : fermeture : grève"
    assert text.count("pas d'accueil : fermeture : grève") == 1


def test_a_reason_several_cells_of_a_day_share_is_said_once_and_describes_them(logged, family):
    """Monday 23 November, past its deadline: every cell « date limite dépassée » but Léa's
    booked morning (« date limite d'annulation dépassée », its own): the shared reason once
    under the date, its cells described by it (issue 18 §4: a past month was mostly reasons)."""
    lea, hugo, matin = family["lea"], family["hugo"], family["matin"]
    book(lea, matin, MONDAY_23)
    html = html_of(logged.get(url("foyer", family)))
    day = re.search(r'<td><p class="resa-date">Lundi 23/11</p>(.*?)</td>', html).group(1)
    deadline = "date limite dépassée (vendredi 20 novembre 2026 à 09:00)"
    assert day.count(deadline) == 1
    assert day.startswith(
        f'<p class="resa-reason" id="r-2026-11-23-0"><span aria-hidden="true">⊘</span> {deadline}'
    )
    boxes = dict(re.findall(r'id="c-([\d-]+)" disabled aria-describedby="([^"]+)"', day))
    assert boxes[f"{hugo.pk}-{family['repas'].pk}-2026-11-23"] == "r-2026-11-23-0"
    own = f"r-{lea.pk}-{matin.pk}-2026-11-23"
    assert boxes[f"{lea.pk}-{matin.pk}-2026-11-23"] == own
    assert f'<span class="resa-reason" id="{own}">' in day
    assert day.count('<span class="resa-reason"') == 1  # the others said once, above


def test_the_quarter_and_the_year_and_their_links(logged, family):
    response = logged.get(url("foyer", family, vue="trimestre", debut="2026-12-15"))
    weeks = [week for week, _days in response.context["rows"]]
    assert weeks[0].monday == date(2026, 11, 30) and weeks[-1].monday == date(2027, 2, 22)
    text = text_of(response)
    assert "De décembre 2026 à février 2027" in text
    assert "pas d'accueil : Vacances de Noël" in text
    html = html_of(response)
    # « Précédent / suivant » and the other views: buttons of the form (the ticks go along).
    for value in ("aller:trimestre:2027-03-01", "aller:trimestre:2026-09-01",
                  "aller:mois:2026-12-01", "aller:annee:2026-12-01"):  # fmt: skip
        assert f'name="action" value="{value}"' in html

    response = logged.get(url("foyer", family, vue="annee", debut="2027-05-01"))
    weeks = [week for week, _days in response.context["rows"]]
    # The school year as far as the activities run (1 September to 3 July).
    assert weeks[0].monday == date(2026, 8, 31) and weeks[-1].monday == date(2027, 6, 28)
    assert "Année scolaire 2026-2027" in text_of(response)

    for query in ({"vue": "x", "debut": "zzz"}, {"debut": "2026-13-45"}, {"debut": "0001-01-01"},
                  {"vue": "annee", "debut": "9999-12-31"},
                  {"vue": "trimestre", "debut": "2099-01-01"}):  # fmt: skip
        response = logged.get(url("foyer", family, **query))
        assert response.status_code == 200
        assert response.context["period"].start in (date(2026, 11, 1), date(2026, 9, 1))
    for action in ("aller:annee:9999-12-31", "aller:mois:0001-01-01", "aller:x:2026-01-01"):
        response = logged.post(url("foyer", family), grid_post(family, action=action))
        assert response.status_code == 200


def test_modifier_les_reservations_and_activites_link_to_the_grid(logged, family):
    for name in ("choisir", "index"):
        html = html_of(logged.get(url(name, family)))
        assert f'href="{url("foyer", family)}">Toutes les réservations du foyer</a>' in html


def test_without_an_accepted_inscription_the_page_says_so(client):
    famille = FamilleFactory()
    user = FamilyAccessFactory(famille=famille).user
    register(ChildFactory(famille=famille), make_activity(famille.commune), status="en_attente")
    client.force_login(user, backend=BACKEND)
    here = reverse("activities:foyer", kwargs={"commune": famille.commune.slug})
    response = client.get(here)
    assert response.status_code == 200
    assert "Aucune inscription acceptée" in text_of(response)
    response = client.post(
        here, {"action": "copier", "copie-semaine": "9999-12-31", "copie-semaines": "52"}
    )
    assert response.status_code == 302 and response["Location"] == here


def test_every_name_and_reason_is_escaped(logged, family):
    family["lea"].first_names = "<b>Léa</b>"
    family["lea"].save()
    ActivityClosure.objects.create(commune=family["commune"], day=date(2026, 11, 26),
                                   reason="<script>grève</script>")  # fmt: skip
    html = html_of(logged.get(url("foyer", family)))
    assert "&lt;b&gt;Léa&lt;/b&gt;" in html and "<b>Léa" not in html
    assert "fermeture : &lt;script&gt;grève&lt;/script&gt;" in html
    assert "<script>grève" not in html


def test_an_incomplete_file_locks_the_days_when_required(logged, family):
    from parvis.families.models import RequiredDocument

    peri = family["peri"]
    peri.requires_complete_file = True
    peri.save()
    RequiredDocument.objects.create(
        commune=family["commune"], school_year=2026, doc_type="justificatif_domicile",
        service=peri.service,
    )  # fmt: skip
    response = logged.get(url("foyer", family))
    assert cell(response, family["lea"], family["matin"], date(2026, 11, 30)).reason == (
        "dossier administratif incomplet"
    )
    assert state(response, family["lea"], family["repas"], date(2026, 11, 30)) == (False, True)


# --- Queries -------------------------------------------------------------------------------------


def household_queries(client, commune, vue) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(
            reverse("activities:foyer", kwargs={"commune": commune.slug}) + f"?vue={vue}"
        )
        assert response.status_code == 200
    return len(queries)


def test_the_year_costs_the_same_queries_for_one_child_or_three_and_for_a_month(client):
    """Every kind of row is there in both households (seats and a full day, a waiting list, a
    closure, a required administrative file), so each reads all it can: the counts must be
    equal, not merely bounded."""
    from parvis.families.models import RequiredDocument

    commune = CommuneFactory()
    peri = make_activity(commune, capacity=1, requires_complete_file=True)
    cantine = make_canteen(commune)
    RequiredDocument.objects.create(
        commune=commune, school_year=2026, doc_type="justificatif_domicile", service=peri.service
    )
    ActivityClosure.objects.create(commune=commune, day=date(2026, 11, 27), reason="grève")
    matin, repas = peri.units.get(), cantine.units.get()
    other = ChildFactory(famille=FamilleFactory(commune=commune))

    def household(children, activities):
        famille = FamilleFactory(commune=commune)
        user = FamilyAccessFactory(famille=famille).user
        kids = [ChildFactory(famille=famille) for _ in range(children)]
        for kid in kids:
            for activity in activities:
                register(kid, activity)
            book(kid, matin, date(2026, 11, 26), status=BookingStatus.LISTE_ATTENTE)
        for day in (date(2026, 10, 5), date(2027, 3, 4), date(2027, 6, 3)):
            book(kids[0], matin, day)
            if cantine in activities:
                for kid in kids:
                    book(kid, repas, day)
        return user

    # In the month shown too (November 2026), so the month reads all the year reads.
    book(other, matin, date(2026, 11, 26))
    UnitDay.objects.create(unit=matin, day=date(2026, 11, 26), taken=1)
    small = household(1, [peri])
    large = household(3, [peri, cantine])

    client.force_login(small, backend=BACKEND)
    small_year = household_queries(client, commune, "annee")
    small_month = household_queries(client, commune, "mois")
    client.force_login(large, backend=BACKEND)
    large_year = household_queries(client, commune, "annee")
    large_month = household_queries(client, commune, "mois")
    assert small_year == large_year == small_month == large_month
    # commune, session, user; the account's families, inscriptions, units, closures,
    # reservations, waiting ranks, full days; the administrative files (four: requirements,
    # members, documents, and the QFs valid today, a current one fetched from API Particulier
    # standing for the tax notice).
    assert large_year <= 14


def test_another_child_and_more_bookings_add_no_query(logged, family, django_assert_num_queries):
    with CaptureQueriesContext(connection) as base:
        logged.get(url("foyer", family, vue="annee"))
    register(ChildFactory(famille=family["famille"]), family["peri"])
    book(family["hugo"], family["repas"], date(2027, 1, 7))
    with django_assert_num_queries(len(base)):
        response = logged.get(url("foyer", family, vue="annee"))
    assert len(response.context["house"].children) == 3


# --- « Copier la semaine » -----------------------------------------------------------------------


def grid_post(family, **fields):
    data = {"grille": "1", "vue": "mois", "debut": "2026-12-01"}
    data.update(fields)
    return data


def test_copier_la_semaine_until_a_date_skips_the_holidays(logged, family):
    lea, hugo, matin, repas = family["lea"], family["hugo"], family["matin"], family["repas"]
    checked = [key(lea, matin, date(2026, 12, 7)), key(lea, matin, date(2026, 12, 8)),
               key(hugo, repas, date(2026, 12, 10))]  # fmt: skip
    response = logged.post(
        url("foyer", family),
        grid_post(family, c=checked, action="copier", **{"copie-semaine": "2026-12-09",
                  "copie-jusqu_au": "2027-01-08"}),
    )  # fmt: skip
    assert response.status_code == 200
    for day in (date(2026, 12, 14), date(2026, 12, 15), date(2027, 1, 4), date(2027, 1, 5)):
        assert state(response, lea, matin, day) == (True, True)
    for day in (date(2026, 12, 17), date(2027, 1, 7)):
        assert state(response, hugo, repas, day) == (True, True)
    assert state(response, lea, matin, date(2026, 12, 17)) == (False, True)
    assert state(response, lea, matin, date(2026, 12, 21)) == (False, False)
    result = response.context["tool_result"]
    assert result.changed == 6
    # Léa 21, 22, 28, 29/12 and Hugo 24, 31/12: the holidays, left.
    assert result.skipped_reasons == [("pas d'accueil : Vacances de Noël", 6)]
    text = text_of(response)
    assert "Semaine du 07/12/2026 copiée. 6 jours modifiés" in text
    assert "6 jours laissés tels quels, car non modifiables" in text
    assert "⊘ pas d'accueil : Vacances de Noël (6)" in text
    html = html_of(response)
    # January is not shown: its changes travel as hidden fields.
    assert f'name="ajout" value="{key(lea, matin, date(2027, 1, 4))}"' in html
    assert "3 modifications hors de cette période sont conservées dans le panier." in text
    assert not Reservation.objects.exists()


def test_copier_la_semaine_to_the_next_weeks_unchecks_too(logged, family):
    lea, matin = family["lea"], family["matin"]
    for day in (date(2026, 12, 14), date(2026, 12, 15)):
        book(lea, matin, day)
    response = logged.post(
        url("foyer", family),
        grid_post(family, c=[key(lea, matin, d) for d in (date(2026, 12, 8), date(2026, 12, 14),
                                                           date(2026, 12, 15))],
                  action="copier", **{"copie-semaine": "2026-12-07", "copie-semaines": "1"}),
    )  # fmt: skip
    assert state(response, lea, matin, date(2026, 12, 14)) == (False, True)  # « retrait »
    assert state(response, lea, matin, date(2026, 12, 15)) == (True, True)
    assert response.context["tool_result"].changed == 1
    assert response.context["tool_result"].unchanged == 11  # every other cell of the week


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"copie-semaine": "2026-12-07"}, "Indiquez un nombre de semaines, ou une date."),
        ({"copie-semaine": "2026-12-07", "copie-semaines": "2", "copie-jusqu_au": "2027-01-08"},
         "pas les deux"),
        ({"copie-semaine": "2026-12-07", "copie-jusqu_au": "2026-12-10"},
         "Choisissez une date après la semaine copiée."),
        ({"copie-semaine": "2025-12-07", "copie-semaines": "2"}, "Choisissez une date entre le"),
        ({"copie-semaine": "2026-12-07", "copie-semaines": "-3"}, "supérieure ou égale à 1"),
        ({"copie-semaine": "2026-12-07", "copie-jusqu_au": "2031-01-01"}, "Choisissez une date"),
    ],
)  # fmt: skip
def test_copier_la_semaine_says_what_is_wrong_next_to_the_field(logged, family, fields, error):
    lea, matin = family["lea"], family["matin"]
    response = logged.post(
        url("foyer", family),
        grid_post(family, c=[key(lea, matin, date(2026, 12, 7))], action="copier", **fields),
    )
    assert response.status_code == 200
    assert error in text_of(response)
    assert "tool_result" not in response.context
    assert state(response, lea, matin, date(2026, 12, 7)) == (True, True)  # the ticks kept
    assert state(response, lea, matin, date(2026, 12, 14)) == (False, True)


# --- « Appliquer un modèle de semaine » ----------------------------------------------------------


def pattern(family, child, target, first, last, choix="reserver", days=(0, 1, 3, 4), **extra):
    return grid_post(
        family,
        action="modele",
        **{"modele-pour": f"{target[0]}:{child.pk}:{target[1].pk}", "modele-jours": list(days),
           "modele-du": first.isoformat(), "modele-au": last.isoformat(), "modele-choix": choix},
        **extra,
    )  # fmt: skip


MON_TUE_THU_FRI_CANTEEN = [
    date(2026, 11, 24), date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 30),
    date(2026, 12, 1), date(2026, 12, 3), date(2026, 12, 4), date(2026, 12, 7),
    date(2026, 12, 8), date(2026, 12, 11), date(2026, 12, 14), date(2026, 12, 15),
    date(2026, 12, 17), date(2026, 12, 18),
]  # fmt: skip


def test_a_weekly_pattern_books_the_open_days_and_says_why_it_left_the_others(
    logged, family, django_capture_on_commit_callbacks
):
    lea, repas = family["lea"], family["repas"]
    ActivityClosure.objects.create(commune=family["commune"], activity=family["cantine"],
                                   day=date(2026, 12, 10), reason="grève")  # fmt: skip
    book(lea, repas, date(2026, 12, 8))
    response = logged.post(
        url("foyer", family),
        pattern(family, lea, ("u", repas), date(2026, 11, 23), date(2026, 12, 22),
                c=[key(lea, repas, date(2026, 12, 8))]),
    )  # fmt: skip
    assert response.status_code == 200
    result = response.context["tool_result"]
    assert result.changed == len(MON_TUE_THU_FRI_CANTEEN) - 1  # 8/12 was booked already
    assert result.unchanged == 1
    assert result.skipped_reasons == [
        ("pas d'accueil : Vacances de Noël", 2),
        ("date limite dépassée (vendredi 20 novembre 2026 à 09:00)", 1),
        ("pas d'accueil : fermeture : grève", 1),
    ]
    text = text_of(response)
    assert "Modèle de semaine appliqué. 13 jours modifiés, 1 jour déjà ainsi." in text
    assert "4 jours laissés tels quels, car non modifiables" in text
    for day in MON_TUE_THU_FRI_CANTEEN:
        assert state(response, lea, repas, day) == (True, True)
    assert state(response, lea, repas, date(2026, 12, 10))[0] is False
    assert state(response, lea, family["matin"], date(2026, 12, 14)) == (False, True)  # not Léa's
    assert state(response, family["hugo"], repas, date(2026, 12, 14)) == (False, True)  # nor Hugo's
    assert not Reservation.objects.exclude(day=date(2026, 12, 8)).exists()  # nothing saved yet

    # The basket, then « Valider »: exactly those days.
    basket = logged.post(
        url("foyer", family),
        {"grille": "1", "vue": "mois", "debut": "2026-12-01", "action": "panier",
         "c": [cell.key for cell in response.context["grid"].cells.values()
               if cell.wanted and cell.editable and cell.day.month == 12],
         "ajout": [key(lea, repas, d) for d in MON_TUE_THU_FRI_CANTEEN if d.month == 11]},
    )  # fmt: skip
    assert "Panier" in text_of(basket)
    (group,) = basket.context["groups"]
    assert [c.day for c in group.add] == [
        d for d in MON_TUE_THU_FRI_CANTEEN if d != date(2026, 12, 8)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        done = logged.post(
            url("foyer_panier", family),
            {"ajout": [c.key for c in group.add], "vue": "mois", "debut": "2026-12-01"},
        )
    assert done.status_code == 302
    assert booked(lea) == [("Léa", "REPAS", d) for d in MON_TUE_THU_FRI_CANTEEN]


def test_a_pattern_for_all_the_units_of_an_activity_and_to_cancel(logged, family):
    lea, peri, matin = family["lea"], family["peri"], family["matin"]
    soir = Unit.objects.create(
        commune=family["commune"], activity=peri, code="PERI_PM_M", label="Acc Soir",
        starts_at=time(16, 30), ends_at=time(18, 30), weekdays=[0, 1, 3], position=1,
    )  # fmt: skip
    response = logged.post(
        url("foyer", family),
        pattern(family, lea, ("a", peri), date(2026, 12, 7), date(2026, 12, 13), days=(0, 4)),
    )
    assert response.context["tool_result"].changed == 3  # Monday 7 (both units), Friday 11
    assert state(response, lea, matin, date(2026, 12, 7)) == (True, True)
    assert state(response, lea, soir, date(2026, 12, 7)) == (True, True)
    assert state(response, lea, matin, date(2026, 12, 11)) == (True, True)
    # No evening care on Fridays: said, not booked.
    assert response.context["tool_result"].skipped_reasons == [
        ("pas d'accueil : pas d'accueil ce jour de la semaine", 1)
    ]

    for day in (date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 14)):
        book(lea, matin, day)
    response = logged.post(
        url("foyer", family),
        pattern(family, lea, ("u", matin), date(2026, 12, 1), date(2026, 12, 8), choix="annuler",
                c=[key(lea, matin, d) for d in (date(2026, 12, 7), date(2026, 12, 8),
                                                date(2026, 12, 14))]),
    )  # fmt: skip
    assert response.context["tool_result"].changed == 2
    assert state(response, lea, matin, date(2026, 12, 7)) == (False, True)
    assert state(response, lea, matin, date(2026, 12, 14)) == (True, True)
    assert "annulation demandée" in text_of(response)


@pytest.mark.parametrize(
    "change, error",
    [
        ({"modele-au": "2026-12-01"}, "La date de fin doit suivre la date de début."),
        ({"modele-jours": []}, "Ce champ est obligatoire."),
        ({"modele-pour": "u:999999:1"}, "Sélectionnez un choix valide"),
        ({"modele-du": "hier"}, "Saisissez une date valide."),
        ({"modele-du": "2020-01-01"}, "Choisissez une date entre le 01/09/2026 et le 03/07/2027."),
    ],
)
def test_a_wrong_pattern_says_why_next_to_the_field(logged, family, change, error):
    data = pattern(family, family["lea"], ("u", family["repas"]), date(2026, 12, 7),
                   date(2026, 12, 18))  # fmt: skip
    data.update(change)
    response = logged.post(url("foyer", family), data)
    assert response.status_code == 200
    assert error in text_of(response)
    assert "tool_result" not in response.context


def test_a_pattern_reaches_only_the_households_children(logged, family):
    stranger = ChildFactory(famille=FamilleFactory(commune=family["commune"]))
    register(stranger, family["cantine"])
    data = pattern(family, stranger, ("u", family["repas"]), date(2026, 12, 7),
                   date(2026, 12, 18))  # fmt: skip
    response = logged.post(url("foyer", family), data)
    assert "Sélectionnez un choix valide" in text_of(response)
    assert not any(c.wanted for c in response.context["grid"].cells.values())


# --- Other periods keep the changes --------------------------------------------------------------


def test_changing_period_keeps_the_changes(logged, family):
    lea, matin = family["lea"], family["matin"]
    response = logged.post(
        url("foyer", family),
        grid_post(family, c=[key(lea, matin, date(2026, 12, 7))], action="aller:mois:2027-01-01"),
    )
    assert response.context["period"].start == date(2027, 1, 1)
    html = html_of(response)
    assert f'name="ajout" value="{key(lea, matin, date(2026, 12, 7))}"' in html
    assert 'value="aller:mois:2026-12-01"' in html  # « Mois précédent »
    response = logged.post(
        url("foyer", family),
        {"grille": "1", "vue": "mois", "debut": "2027-01-01", "action": "aller:annee:2027-01-01",
         "ajout": key(lea, matin, date(2026, 12, 7)), "c": key(lea, matin, date(2027, 1, 5))},
    )  # fmt: skip
    assert state(response, lea, matin, date(2026, 12, 7)) == (True, True)
    assert state(response, lea, matin, date(2027, 1, 5)) == (True, True)
    assert response.context["carried"] == []  # the whole year is shown


# --- The basket and « Valider » ------------------------------------------------------------------


def test_the_basket_groups_the_changes_by_child_and_activity(logged, family):
    lea, hugo, matin, repas = family["lea"], family["hugo"], family["matin"], family["repas"]
    book(hugo, repas, date(2026, 12, 3))
    response = logged.post(
        url("foyer", family),
        grid_post(family, c=[key(lea, matin, date(2026, 12, 4)), key(lea, repas, date(2026, 12, 4)),
                             key(lea, matin, date(2026, 12, 3))], action="panier"),
    )  # fmt: skip
    text = text_of(response)
    assert "Panier" in text
    assert title_of(response).startswith("Toutes les réservations du foyer — Panier")
    assert (
        "Léa DURAND — Accueil Périscolaire Maternelle Jours ajoutés ✚ jeudi 03/12/2026 — Acc Matin "
        "(PERI_AM_M) ✚ vendredi 04/12/2026 — Acc Matin (PERI_AM_M)" in text
    )
    assert "Léa DURAND — Restauration scolaire Jours ajoutés ✚ vendredi 04/12/2026" in text
    assert "Hugo DURAND — Restauration scolaire Jours annulés ✖ jeudi 03/12/2026 — Repas" in text
    html = html_of(response)
    assert f'name="retrait" value="{key(hugo, repas, date(2026, 12, 3))}"' in html
    assert Reservation.objects.count() == 1

    # « Modifier »: back to the grid with the basket's changes.
    again = logged.post(
        url("foyer", family),
        {"action": "modifier", "vue": "mois", "debut": "2026-12-01",
         "ajout": [key(lea, matin, date(2026, 12, 4))],
         "retrait": [key(hugo, repas, date(2026, 12, 3))]},
    )  # fmt: skip
    assert state(again, lea, matin, date(2026, 12, 4)) == (True, True)
    assert state(again, hugo, repas, date(2026, 12, 3)) == (False, True)


def test_nothing_changed_says_so(logged, family):
    response = logged.post(url("foyer", family), grid_post(family, action="panier"))
    assert "Aucune modification" in text_of(response)


def title_of(response) -> str:
    title = re.search(r"<title>(.*?)</title>", response.content.decode(), flags=re.S).group(1)
    return " ".join(title.split())


def household_basket(family):
    lea, hugo, matin, repas = family["lea"], family["hugo"], family["matin"], family["repas"]
    book(hugo, repas, date(2026, 12, 3))
    return {
        "ajout": [key(lea, matin, TUESDAY_24), key(hugo, repas, date(2026, 12, 4))],
        "retrait": [key(hugo, repas, date(2026, 12, 3))],
        "vue": "mois",
        "debut": "2026-11-01",
    }


def test_valider_at_0859_saves_every_child_and_emails_one_summary(
    logged, family, django_capture_on_commit_callbacks
):
    data = household_basket(family)
    with (
        time_machine.travel(datetime(2026, 11, 23, 8, 59, tzinfo=PARIS), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = logged.post(url("foyer_panier", family), data)
    assert response.status_code == 302
    assert response["Location"] == url("foyer_confirmation", family)
    assert booked() == [("Hugo", "REPAS", date(2026, 12, 4)), ("Léa", "PERI_AM_M", TUESDAY_24)]
    (message,) = mail.outbox
    assert message.to == [family["user"].email]
    assert "pour Léa (Accueil Périscolaire Maternelle)" in message.body
    assert "pour Hugo (Restauration scolaire)" in message.body
    assert "mardi 24/11/2026, Acc Matin (PERI_AM_M)" in message.body
    assert "Jours annulés :\n- jeudi 03/12/2026, Repas (REPAS)" in message.body
    text = text_of(logged.get(response["Location"]))
    assert "Vos demandes sont enregistrées." in text
    assert "Léa DURAND — Accueil Périscolaire Maternelle Jours ajoutés mardi 24/11/2026" in text
    assert "Hugo DURAND — Restauration scolaire Jours ajoutés vendredi 04/12/2026" in text
    assert "Jours annulés jeudi 03/12/2026 — Repas (REPAS)" in text


def test_valider_at_0900_refuses_leas_day_and_saves_nothing_for_hugo(logged, family):
    data = household_basket(family)
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=PARIS), tick=False):
        response = logged.post(url("foyer_panier", family), data)
    assert response.status_code == 200
    text = text_of(response)
    assert "aucune de vos modifications n'a été enregistrée, pour aucun enfant" in text
    # The page says so from its title on (RGAA 11.10, the one error pattern).
    assert title_of(response).startswith("Erreur : Toutes les réservations du foyer — Panier")
    assert (
        "mardi 24/11/2026 — Acc Matin (PERI_AM_M) ⚠ Erreur : date limite dépassée "
        "(lundi 23 novembre 2026 à 09:00)" in text
    )
    assert booked() == [("Hugo", "REPAS", date(2026, 12, 3))]  # neither added nor removed
    assert not mail.outbox
    from parvis.accounts.models import AuditEntry

    assert not AuditEntry.objects.filter(action="reservation.basket").exists()


def test_the_service_rolls_every_basket_back_when_one_is_refused(family):
    from parvis.activities.services_foyer import (
        ChildBasket,
        HouseholdBasketRefused,
        validate_household_basket,
    )

    lea, hugo, matin, repas = family["lea"], family["hugo"], family["matin"], family["repas"]
    baskets = [
        ChildBasket(child=hugo, activity=family["cantine"], add=[(repas, date(2026, 12, 4))]),
        ChildBasket(child=lea, activity=family["peri"], add=[(matin, MONDAY_23)]),
    ]
    with pytest.raises(HouseholdBasketRefused) as refused:
        validate_household_basket(baskets=baskets, actor=family["user"], now=NOW)
    assert refused.value.problems == {
        (lea.pk, matin.pk, MONDAY_23): "date limite dépassée (vendredi 20 novembre 2026 à 09:00)"
    }
    assert not Reservation.objects.exists()


def test_two_children_for_the_last_seat_in_one_validation(
    logged, family, django_capture_on_commit_callbacks
):
    matin = family["matin"]
    matin.capacity = 1
    matin.save()
    zoe = ChildFactory(famille=family["famille"], first_names="Zoé", birth_date=date(2021, 9, 1))
    register(zoe, family["peri"])
    thursday = date(2026, 12, 3)
    with django_capture_on_commit_callbacks(execute=True):
        response = logged.post(
            url("foyer_panier", family),
            {"ajout": [key(family["lea"], matin, thursday), key(zoe, matin, thursday)]},
        )
    assert response.status_code == 302
    states = dict(Reservation.objects.values_list("child__first_names", "status"))
    assert states == {"Léa": BookingStatus.RESERVEE, "Zoé": BookingStatus.LISTE_ATTENTE}
    assert UnitDay.objects.get(unit=matin, day=thursday).taken == 1
    text = text_of(logged.get(response["Location"]))
    assert "En liste d'attente jeudi 03/12/2026 — Acc Matin (PERI_AM_M) — rang 1" in text


@pytest.mark.django_db
def test_a_household_giving_back_a_seat_set_after_its_bookings_keeps_the_count_true():
    from parvis.activities.services_foyer import ChildBasket, validate_household_basket

    commune = CommuneFactory()
    peri = make_activity(commune)  # no capacity yet
    matin = peri.units.get()
    famille = FamilleFactory(commune=commune)
    user = FamilyAccessFactory(famille=famille).user
    one, two = ChildFactory(famille=famille), ChildFactory(famille=famille)
    thursday = date(2026, 12, 3)
    for child in (one, two):
        register(child, peri)
        validate_household_basket(
            baskets=[ChildBasket(child=child, activity=peri, add=[(matin, thursday)])],
            actor=user, now=NOW,
        )  # fmt: skip
    assert not UnitDay.objects.exists()
    peri.units.update(capacity=2)
    matin.refresh_from_db()
    validate_household_basket(
        baskets=[ChildBasket(child=one, activity=peri, remove=[(matin, thursday)])],
        actor=user, now=NOW,
    )  # fmt: skip
    assert UnitDay.objects.get(unit=matin, day=thursday).taken == 1  # the other child's seat


@pytest.mark.django_db(transaction=True)
def test_households_validating_at_the_same_instant_neither_deadlock_nor_oversell():
    """Six households, two children each, all for the last seats of two units on two days; half
    of them list their children the other way round, so without the locks taken first in one
    order two of them would hold what the other waits for (PostgreSQL: a deadlock)."""
    from parvis.activities.services_foyer import ChildBasket, validate_household_basket

    commune = CommuneFactory()
    peri = make_activity(commune, capacity=2)
    matin = peri.units.get()
    soir = Unit.objects.create(
        commune=commune, activity=peri, code="PERI_PM_M", label="Acc Soir", capacity=2,
        starts_at=time(16, 30), ends_at=time(18, 30), weekdays=[0, 1, 3, 4], position=1,
    )  # fmt: skip
    first, second = date(2026, 12, 3), date(2026, 12, 4)
    households = []
    for n in range(6):
        famille = FamilleFactory(commune=commune)
        user = FamilyAccessFactory(famille=famille).user
        one, two = ChildFactory(famille=famille), ChildFactory(famille=famille)
        register(one, peri)
        register(two, peri)
        baskets = [
            ChildBasket(child=one, activity=peri, add=[(soir, second), (matin, first)]),
            ChildBasket(child=two, activity=peri, add=[(matin, second), (soir, first)]),
        ]
        households.append((user, baskets if n % 2 else baskets[::-1]))
    barrier = threading.Barrier(len(households))
    errors = []

    def run(user, baskets):
        try:
            barrier.wait()
            validate_household_basket(baskets=baskets, actor=user, now=NOW)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=household) for household in households]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Reservation.objects.count() == 24  # nothing lost
    for unit in (matin, soir):
        for day in (first, second):
            rows = Reservation.objects.filter(unit=unit, day=day)
            assert rows.filter(status=BookingStatus.RESERVEE).count() == 2
            assert rows.filter(status=BookingStatus.LISTE_ATTENTE).count() == 4
            assert UnitDay.objects.get(unit=unit, day=day).taken == 2


def test_confirmation_without_a_validated_basket_goes_back_to_the_grid(logged, family):
    response = logged.get(url("foyer_confirmation", family))
    assert response.status_code == 302
    assert response["Location"] == url("foyer", family)
    response = logged.get(url("foyer_panier", family))
    assert response["Location"] == url("foyer", family)


# --- Who may see and book what -------------------------------------------------------------------


def test_forged_keys_of_another_family_are_never_booked(logged, family):
    stranger = ChildFactory(famille=FamilleFactory(commune=family["commune"]))
    register(stranger, family["cantine"])
    elsewhere = make_activity(CommuneFactory(), slug="ailleurs")
    foreign = [
        key(stranger, family["repas"], date(2026, 12, 4)),  # another family's child
        key(family["hugo"], family["matin"], date(2026, 12, 4)),  # Hugo is not registered there
        key(family["lea"], elsewhere.units.get(), date(2026, 12, 4)),  # another commune
        key(family["lea"], family["matin"], date(2027, 8, 2)),  # out of the period
        key(family["lea"], family["matin"], date(2026, 12, 2)),  # a Wednesday: no service
        "junk", "1:2:3", "::",
    ]  # fmt: skip
    response = logged.post(url("foyer", family), grid_post(family, c=foreign, action="panier"))
    assert "Aucune modification" in text_of(response)
    response = logged.post(url("foyer_panier", family), {"ajout": foreign, "retrait": foreign})
    assert response.status_code == 302
    assert response["Location"] == url("foyer", family)
    assert not Reservation.objects.exists()


def test_another_familys_account_sees_only_its_own_children(client, family):
    other = FamilyAccessFactory(famille=FamilleFactory(commune=family["commune"])).user
    client.force_login(other, backend=BACKEND)
    response = client.get(url("foyer", family))
    assert response.status_code == 200
    assert "Léa" not in text_of(response)
    assert not response.context["house"].lines


@pytest.mark.parametrize("name", ["foyer", "foyer_panier", "foyer_confirmation"])
def test_another_commune_is_a_404_or_a_login_never_this_household(client, family, name):
    missing = reverse(f"activities:{name}", kwargs={"commune": "nulle-part"})
    client.force_login(family["user"], backend=BACKEND)
    assert client.get(missing).status_code == 404
    other = CommuneFactory()
    response = client.get(reverse(f"activities:{name}", kwargs={"commune": other.slug}))
    assert response.status_code == 302  # not a citizen there: asked to log in there
    assert response["Location"].startswith(
        reverse("accounts:connexion", kwargs={"commune": other.slug})
    )


@pytest.mark.parametrize("name", ["foyer", "foyer_panier", "foyer_confirmation"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitors_are_sent_to_log_in(client, family, name, method):
    response = getattr(client, method)(url(name, family))
    assert response.status_code in (302, 405)
    if response.status_code == 302:
        assert response["Location"].startswith(
            reverse("accounts:connexion", kwargs={"commune": family["commune"].slug})
        )
    assert not Reservation.objects.exists()


def test_a_refused_copy_says_erreur_first_in_the_title(logged, family):
    # The copy form is painted once when fresh: a refused one stays in the page's context, where
    # the title finds it (review R2).
    lea, matin = family["lea"], family["matin"]
    page = logged.post(
        url("foyer", family),
        grid_post(
            family, c=[key(lea, matin, date(2026, 12, 7))], action="copier",
            **{"copie-semaine": "2026-12-07", "copie-semaines": "-3"},
        ),
    ).content.decode()  # fmt: skip
    assert "supérieure ou égale à 1" in page  # the error next to its field
    title = " ".join(re.search(r"<title>(.*?)</title>", page, re.S).group(1).split())
    assert title.startswith("Erreur :"), title
