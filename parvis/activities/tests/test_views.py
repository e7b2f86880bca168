"""The families' reservation pages through their URLs: « Activités » (« vérification des
inscriptions »), the start page, the calendar (every locked day says why, « Tout cocher / Tout
décocher » for a week or the whole period, a constant number of queries), the basket, « Valider »
(saved and e-mailed, or every refusal next to its day and nothing saved), and who may see what."""

import re
from datetime import date, datetime

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, reverse

from parvis.activities import urls as activity_urls
from parvis.activities.models import BookingStatus, InscriptionStatus, Reservation, UnitDay
from parvis.activities.rules import PARIS
from parvis.activities.tests.factories import make_activity, register
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import (
    ChildFactory,
    FamilleFactory,
    FamilyAccessFactory,
)

pytestmark = pytest.mark.django_db

BACKEND = "parvis.accounts.backends.CommuneBackend"
# Friday 20 November 2026, 10:00 in Paris: Monday 23's deadline (Friday 09:00) has passed,
# Tuesday 24's (Monday 09:00) has not.
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)
MONDAY_23 = date(2026, 11, 23)
TUESDAY_24 = date(2026, 11, 24)
MONDAY_30 = date(2026, 11, 30)


def text_of(response) -> str:
    html = response.content.decode()
    text = re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").replace("&quot;", '"')
    return re.sub(r"[ \t\r\n\f\v]+", " ", text)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def family():
    commune = CommuneFactory()
    famille = FamilleFactory(commune=commune, name="DURAND")
    child = ChildFactory(famille=famille, first_names="Léa")
    access = FamilyAccessFactory(famille=famille)
    activity = make_activity(commune)
    inscription = register(child, activity)
    return {
        "commune": commune, "famille": famille, "child": child, "user": access.user,
        "activity": activity, "unit": activity.units.get(), "inscription": inscription,
    }  # fmt: skip


@pytest.fixture
def logged(client, family):
    client.force_login(family["user"], backend=BACKEND)
    return client


def url(name, family, **kwargs):
    """The address of `name` for `family`, the route's parameters filled in."""
    kwargs = {"commune": family["commune"].slug, **kwargs}
    route = next(str(p.pattern) for p in activity_urls.urlpatterns if p.name == name)
    defaults = {
        "activity": family["activity"].slug,
        "child": family["child"].pk,
        "pk": 1,
        "token": "jeton",
    }
    for parameter, value in defaults.items():
        if f":{parameter}>" in route:
            kwargs.setdefault(parameter, value)
    return reverse(f"activities:{name}", kwargs=kwargs)


def key(unit, day):
    return f"{unit.pk}:{day.isoformat()}"


def book(family, day, status=BookingStatus.RESERVEE, child=None):
    child = child or family["child"]
    return Reservation.objects.create(
        commune=family["commune"], famille=child.famille, child=child, unit=family["unit"],
        day=day, status=status,
    )  # fmt: skip


def cells(response):
    """{cell key: (checked, enabled)} of the calendar shown."""
    result = {}
    for cell in response.context["cal"].cells():
        result[cell.key] = (cell.wanted, cell.editable)
    return result


# --- « Activités » and the start page ------------------------------------------------------------


def test_activites_lists_each_childs_inscriptions_and_states(logged, family):
    other = make_activity(family["commune"], name="Restauration scolaire", slug="cantine")
    register(family["child"], other, status=InscriptionStatus.EN_ATTENTE)
    response = logged.get(url("index", family))
    assert response.status_code == 200
    text = text_of(response)
    assert "Vérification des inscriptions" in text
    assert "Léa DURAND" in text
    assert "Accueil Périscolaire Maternelle" in text
    assert "✓ Acceptée" in text
    assert "◷ En attente d'instruction" in text
    html = response.content.decode()
    assert url("debut", family) in html
    assert url("debut", family, activity="cantine") not in html  # not accepted: no booking
    assert url("choisir", family) in html


def test_choisir_offers_the_accepted_activities(logged, family):
    response = logged.get(url("choisir", family))
    assert response.status_code == 200
    assert "Choisissez l'activité à modifier." in text_of(response)
    assert url("debut", family) in response.content.decode()


def test_the_start_page_says_the_seeds_words(logged, family):
    response = logged.get(url("debut", family))
    text = text_of(response)
    assert "Accueil Périscolaire Maternelle" in text
    assert "Durée approximative de cette démarche : 5 mn" in text
    assert "Réservations du 01/09/2026 au 03/07/2027" in text
    assert "Commencer" in text
    assert url("calendrier", family) in response.content.decode()


# --- The calendar --------------------------------------------------------------------------------


def test_the_calendar_shows_every_week_and_says_why_a_day_is_locked(logged, family):
    unit = family["unit"]
    book(family, TUESDAY_24)
    book(family, MONDAY_30, status=BookingStatus.EN_ATTENTE)
    response = logged.get(url("calendrier", family) + "?vue=annee")  # the whole period
    assert response.status_code == 200
    cal = response.context["cal"]
    assert cal.weeks[0].monday == date(2026, 8, 31)
    assert cal.weeks[-1].monday == date(2027, 6, 28)
    shown = cells(response)
    assert shown[key(unit, TUESDAY_24)] == (True, True)  # booked, can still be cancelled
    assert shown[key(unit, MONDAY_23)] == (False, False)  # deadline passed
    assert shown[key(unit, date(2026, 12, 3))] == (False, True)  # Thursday: open
    assert shown[key(unit, date(2026, 12, 21))] == (False, False)  # Christmas holidays
    text = text_of(response)
    assert "date limite dépassée (vendredi 20 novembre 2026 à 09:00)" in text
    assert "pas d'accueil : Vacances de Noël" in text
    assert "pas d'accueil : jour férié (Ascension)" in text  # Thursday 13 May 2027
    assert "Acc Matin PERI_AM_M" in text
    assert "Modifications apportées ici" in text
    assert "Réservations antérieures en attente d'instruction" in text
    assert "◷ En attente d'instruction" in text
    html = response.content.decode()
    assert f'value="{key(unit, date(2026, 12, 3))}"' in html
    assert f'value="{key(unit, MONDAY_23)}"' not in html  # locked: not in the form


def test_a_full_day_and_the_waiting_list_rank_are_said(logged, family):
    unit = family["unit"]
    unit.capacity = 1
    unit.save()
    neighbour = ChildFactory(famille=FamilleFactory(commune=family["commune"]))
    book(family, date(2026, 12, 3), child=neighbour)
    UnitDay.objects.create(unit=unit, day=date(2026, 12, 3), taken=1)
    other = ChildFactory(famille=FamilleFactory(commune=family["commune"]))
    book(family, date(2026, 12, 4), status=BookingStatus.LISTE_ATTENTE, child=other)
    book(family, date(2026, 12, 4), status=BookingStatus.LISTE_ATTENTE)
    text = text_of(logged.get(url("calendrier", family)))
    assert "complet : une réservation irait en liste d'attente" in text
    assert "liste d'attente, rang 2" in text


def test_a_child_not_registered_sees_every_day_locked(logged, family):
    family["inscription"].delete()
    response = logged.get(url("calendrier", family))
    assert not any(editable for _checked, editable in cells(response).values())
    assert "enfant non inscrit à cette activité" in text_of(response)


def test_an_incomplete_file_locks_the_days_when_required(logged, family):
    from parvis.families.models import RequiredDocument

    activity = family["activity"]
    activity.requires_complete_file = True
    activity.save()
    RequiredDocument.objects.create(
        commune=family["commune"], school_year=2026, doc_type="justificatif_domicile",
        service=activity.service,
    )  # fmt: skip
    response = logged.get(url("calendrier", family))
    assert "dossier administratif incomplet" in text_of(response)
    assert not any(editable for _checked, editable in cells(response).values())


def calendar_queries(client, family) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url("calendrier", family)).status_code == 200
    return len(queries)


def test_the_calendar_reads_in_constant_queries_whatever_the_weeks(
    logged, family, django_assert_max_num_queries
):
    activity = family["activity"]
    activity.end = date(2026, 9, 30)
    activity.save()
    short = calendar_queries(logged, family)
    activity.end = date(2027, 7, 3)
    activity.save()
    for day in (TUESDAY_24, date(2026, 12, 3), date(2027, 3, 4), date(2027, 6, 3)):
        book(family, day)
    book(family, date(2027, 5, 6), status=BookingStatus.LISTE_ATTENTE)
    with django_assert_max_num_queries(short + 1):  # + the waiting ranks, once
        logged.get(url("calendrier", family))
    assert calendar_queries(logged, family) <= short + 1
    assert short <= 10


def test_tout_cocher_a_week_checks_only_its_open_days_and_saves_nothing(logged, family):
    unit = family["unit"]
    response = logged.post(
        url("calendrier", family),
        {"grille": "1", "c": [key(unit, date(2027, 1, 5))], "action": "cocher_semaine:2026-11-30"},
    )
    assert response.status_code == 200
    shown = cells(response)
    week = [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 3), date(2026, 12, 4)]
    assert all(shown[key(unit, day)] == (True, True) for day in week)
    assert shown[key(unit, date(2027, 1, 5))] == (True, True)  # kept from the form
    assert shown[key(unit, date(2026, 12, 7))] == (False, True)
    assert shown[key(unit, MONDAY_23)] == (False, False)  # locked stays as it is
    assert "ajout demandé" in text_of(response)
    assert not Reservation.objects.exists()


def test_tout_decocher_the_period_unchecks_every_changeable_day(logged, family):
    unit = family["unit"]
    book(family, TUESDAY_24)
    book(family, date(2026, 11, 19))  # past: cannot be cancelled
    response = logged.post(url("calendrier", family), {"grille": "1", "action": "decocher_periode"})
    shown = cells(response)
    assert shown[key(unit, TUESDAY_24)] == (False, True)
    assert shown[key(unit, date(2026, 11, 19))] == (True, False)
    assert "annulation demandée" in text_of(response)
    assert Reservation.objects.count() == 2


def test_tout_cocher_the_period_checks_every_open_day(logged, family):
    response = logged.post(url("calendrier", family), {"grille": "1", "action": "cocher_periode"})
    editable = [v for v in cells(response).values() if v[1]]
    assert editable and all(checked for checked, _editable in editable)


# --- The basket and « Valider » -------------------------------------------------------------------


def test_the_basket_lists_the_added_and_removed_days(logged, family):
    unit = family["unit"]
    book(family, TUESDAY_24)
    response = logged.post(
        url("calendrier", family),
        {"grille": "1", "c": [key(unit, date(2026, 12, 3)), "junk", "99999:2026-12-04"],
         "action": "panier"},
    )  # fmt: skip
    assert response.status_code == 200
    text = text_of(response)
    assert "Panier" in text
    assert "Jours ajoutés ✚ jeudi 03/12/2026 — Acc Matin (PERI_AM_M)" in text
    assert "Jours annulés ✖ mardi 24/11/2026 — Acc Matin (PERI_AM_M)" in text
    assert "Valider" in text
    html = response.content.decode()
    assert f'name="ajout" value="{key(unit, date(2026, 12, 3))}"' in html
    assert f'name="retrait" value="{key(unit, TUESDAY_24)}"' in html
    assert Reservation.objects.count() == 1


def test_nothing_changed_says_so(logged, family):
    response = logged.post(url("calendrier", family), {"grille": "1", "action": "panier"})
    assert "Aucune modification" in text_of(response)


def test_modifier_brings_the_basket_back_to_the_calendar(logged, family):
    unit = family["unit"]
    response = logged.post(
        url("calendrier", family), {"ajout": [key(unit, date(2026, 12, 3))], "action": "modifier"}
    )
    assert cells(response)[key(unit, date(2026, 12, 3))] == (True, True)


def test_valider_saves_shows_and_emails_the_summary(
    logged, family, django_capture_on_commit_callbacks
):
    unit = family["unit"]
    book(family, TUESDAY_24)
    with django_capture_on_commit_callbacks(execute=True):
        response = logged.post(
            url("panier", family),
            {"ajout": [key(unit, date(2026, 12, 3)), key(unit, date(2026, 12, 4))],
             "retrait": [key(unit, TUESDAY_24)]},
        )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == url("confirmation", family)
    assert sorted(Reservation.objects.values_list("day", flat=True)) == [
        date(2026, 12, 3),
        date(2026, 12, 4),
    ]
    text = text_of(logged.get(response["Location"]))
    assert "Vos demandes sont enregistrées." in text
    assert "jeudi 03/12/2026 — Acc Matin (PERI_AM_M)" in text
    assert "Jours annulés mardi 24/11/2026 — Acc Matin (PERI_AM_M)" in text
    (message,) = mail.outbox
    assert message.to == [family["user"].email]
    assert "jeudi 03/12/2026, Acc Matin (PERI_AM_M)" in message.body
    assert "Jours annulés" in message.body
    assert "mardi 24/11/2026" in message.body


def test_valider_beyond_capacity_puts_the_day_on_the_waiting_list_with_its_rank(
    logged, family, django_capture_on_commit_callbacks
):
    unit = family["unit"]
    unit.capacity = 0
    unit.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = logged.post(url("panier", family), {"ajout": [key(unit, date(2026, 12, 3))]})
    text = text_of(logged.get(response["Location"]))
    assert "En liste d'attente jeudi 03/12/2026 — Acc Matin (PERI_AM_M) — rang 1" in text
    assert "rang 1" in mail.outbox[0].body


def title_of(response) -> str:
    title = re.search(r"<title>(.*?)</title>", response.content.decode(), flags=re.S).group(1)
    return " ".join(title.split())


def test_valider_refused_says_why_next_to_the_day_and_saves_nothing(logged, family):
    unit = family["unit"]
    response = logged.post(
        url("calendrier", family),
        {"grille": "1", "c": [key(unit, TUESDAY_24), key(unit, date(2026, 12, 3))],
         "action": "panier"},
    )  # fmt: skip
    assert "mardi 24/11/2026" in text_of(response)
    assert title_of(response).startswith("Panier pour ")
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=PARIS), tick=False):
        response = logged.post(
            url("panier", family),
            {"ajout": [key(unit, TUESDAY_24), key(unit, date(2026, 12, 3))]},
        )
    assert response.status_code == 200
    text = text_of(response)
    assert "vos modifications n'ont pas été enregistrées" in text
    # The page says so from its title on (RGAA 11.10, the one error pattern).
    assert title_of(response).startswith("Erreur : Panier pour ")
    assert (
        "mardi 24/11/2026 — Acc Matin (PERI_AM_M) ⚠ Erreur : date limite dépassée "
        "(lundi 23 novembre 2026 à 09:00)" in text
    )
    assert not Reservation.objects.exists()
    assert not mail.outbox


def test_confirmation_without_a_validated_basket_goes_back_to_the_calendar(logged, family):
    response = logged.get(url("confirmation", family))
    assert response.status_code == 302
    assert response["Location"] == url("calendrier", family)


# --- Who may see what -----------------------------------------------------------------------------

CHILD_URLS = [p.name for p in activity_urls.urlpatterns if "child" in str(p.pattern)]


def test_every_url_with_a_child_is_walked():
    assert all(isinstance(p, URLPattern) for p in activity_urls.urlpatterns)
    assert set(CHILD_URLS) == {"debut", "calendrier", "panier", "confirmation"}


@pytest.mark.parametrize("name", CHILD_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_familys_child_is_a_404(client, family, name, method):
    stranger = FamilyAccessFactory(famille=FamilleFactory(commune=family["commune"])).user
    client.force_login(stranger, backend=BACKEND)
    response = getattr(client, method)(url(name, family))
    assert response.status_code == 404


@pytest.mark.parametrize("name", CHILD_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_communes_activity_is_a_404(logged, family, name, method):
    elsewhere = make_activity(CommuneFactory(), slug="ailleurs")
    response = getattr(logged, method)(url(name, family, activity=elsewhere.slug))
    assert response.status_code == 404


@pytest.mark.parametrize("name", CHILD_URLS)
def test_this_childs_url_under_another_commune_is_not_served(client, family, name):
    other = CommuneFactory()
    stranger = FamilyAccessFactory(famille=FamilleFactory(commune=other)).user
    client.force_login(stranger, backend=BACKEND)
    response = client.get(url(name, family, commune=other.slug))
    assert response.status_code == 404


# The calendar feed is read by calendar apps, which cannot log in: its token is the key.
@pytest.mark.parametrize(
    "name", [p.name for p in activity_urls.urlpatterns if p.name != "agenda_ics"]
)
def test_anonymous_visitors_are_sent_to_log_in(client, family, name):
    response = client.get(url(name, family))
    if response.status_code == 405:  # « panier » only takes POST
        response = client.post(url(name, family))
    assert response.status_code == 302
    assert response["Location"].startswith(
        reverse("accounts:connexion", kwargs={"commune": family["commune"].slug})
    )


def test_a_stranger_cannot_book_another_familys_child(client, family):
    stranger = FamilyAccessFactory(famille=FamilleFactory(commune=family["commune"])).user
    client.force_login(stranger, backend=BACKEND)
    response = client.post(url("panier", family), {"ajout": [key(family["unit"], MONDAY_30)]})
    assert response.status_code == 404
    assert not Reservation.objects.exists()


def test_a_forged_locked_day_in_the_grid_never_reaches_the_basket(logged, family):
    unit = family["unit"]
    response = logged.post(
        url("calendrier", family),
        {"grille": "1", "c": [key(unit, MONDAY_23), key(unit, date(2026, 12, 21))],
         "action": "panier"},
    )  # fmt: skip
    assert "Aucune modification" in text_of(response)
