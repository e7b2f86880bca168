"""The attendance registers: the day's registers (counts per unit, school and activity filters),
a unit's register (who is booked, their class, school, PAI, declared absence), ticking present /
absent (saved exactly, booked flag, re-ticking, audit), an unbooked presence, what is refused
(a day to come, a day without service, a child not booked nor registered, forged input: never a
500), scoping (another commune, a service not covered: 404), the CSV, and query counts that do
not grow with the number of children or units.

The clock is Monday 16 November 2026, 10:00 in Paris (a school day); bookings are made the week
before, through the families' basket, as parents would."""

import csv
import io
from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.activities import services_registres as services
from parvis.activities.models import (
    Absence,
    AbsenceReason,
    ActivityClosure,
    Attendance,
    BookingStatus,
    InscriptionStatus,
    Reservation,
    Unit,
)
from parvis.activities.rules import PARIS
from parvis.activities.services import validate_basket
from parvis.activities.tests.factories import make_activity, register
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import ChildFactory, FamilleFactory
from parvis.testing.guichet import make_agent, text_of

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 16)  # a Monday of school
NOW = datetime(2026, 11, 16, 10, 0, tzinfo=PARIS)
BEFORE = datetime(2026, 11, 9, 8, 0, tzinfo=PARIS)  # before every deadline of DAY and DAY+1


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def activity(commune):
    return make_activity(commune, capacity=40, slug="peri")


@pytest.fixture
def unit(activity):
    return activity.units.get()


def kid(activity, name, *, first="Léa", school="Ecole du PARC", pai=False, days=(DAY,)):
    """A child of a new family, registered to `activity` and booked on `days` of its unit."""
    famille = FamilleFactory(commune=activity.commune, name=name)
    child = ChildFactory(
        famille=famille, first_names=first, class_name="MS", school=school, has_pai=pai
    )
    register(child, activity)
    if days:
        unit = activity.units.order_by("pk").first()
        validate_basket(
            famille=famille, child=child, activity=activity, add=[(unit, d) for d in days],
            remove=[], actor=None, now=BEFORE,
        )  # fmt: skip
    return child


def url(name, commune, *args, query=""):
    return reverse(f"guichet_activites:{name}", args=[commune.slug, *args]) + query


def register_url(commune, activity, unit, day=DAY, query=""):
    return url("registre", commune, activity.slug, unit.code, day.isoformat(), query=query)


def csv_url(commune, activity, unit, day=DAY, query=""):
    return url("registre_csv", commune, activity.slug, unit.code, day.isoformat(), query=query)


def mark(*children, value="present"):
    return {f"p-{child.pk}": value for child in children}


def attendance(child, unit, day=DAY):
    return Attendance.objects.get(child=child, unit=unit, day=day)


def csv_rows(response):
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))


# --- Scoping -------------------------------------------------------------------------------------


def test_anonymous_goes_to_the_login(client, commune, activity, unit):
    for address in (url("registres", commune), register_url(commune, activity, unit)):
        response = client.get(address)
        assert response.status_code == 302
        assert "/guichet/connexion/" in response.url


def test_an_agent_of_another_commune_gets_404_and_ticks_nothing(client, commune, activity, unit):
    child = kid(activity, "MARTIN")
    other = CommuneFactory(name="Autreville", slug="autreville")
    client.force_login(make_agent(other, AgentRole.Role.ENFANCE))
    assert client.get(url("registres", commune)).status_code == 404
    assert client.get(register_url(commune, activity, unit)).status_code == 404
    assert client.post(register_url(commune, activity, unit), mark(child)).status_code == 404
    assert client.get(csv_url(commune, activity, unit)).status_code == 404
    # Nor through their own commune's address.
    assert client.get(register_url(other, activity, unit)).status_code == 404
    assert client.post(register_url(other, activity, unit), mark(child)).status_code == 404
    assert not Attendance.objects.exists()


def test_an_agent_of_another_service_gets_404_and_ticks_nothing(client, commune, activity, unit):
    child = kid(activity, "MARTIN")
    client.force_login(make_agent(commune, AgentRole.Role.REGIE))
    assert client.get(register_url(commune, activity, unit)).status_code == 404
    assert client.post(register_url(commune, activity, unit), mark(child)).status_code == 404
    assert client.get(csv_url(commune, activity, unit)).status_code == 404
    page = text_of(client.get(url("registres", commune)))
    assert activity.name not in page
    assert not Attendance.objects.exists()


def test_unknown_unit_or_bad_date_is_404(agent_client, commune, activity, unit):
    assert agent_client.get(register_url(commune, activity, Unit(code="NOPE"))).status_code == 404
    address = url("registre", commune, activity.slug, unit.code, "2026-13-45")
    assert agent_client.get(address).status_code == 404
    assert agent_client.post(address, {}).status_code == 404


# --- The register --------------------------------------------------------------------------------


def test_register_lists_the_booked_children(agent_client, commune, activity, unit):
    unit.capacity = 2
    unit.save()
    kid(activity, "ZOLA", pai=True)
    kid(activity, "ABADIE")
    kid(activity, "WAITING")  # third on 2 seats: waiting list
    kid(activity, "NOTBOOKED", days=())
    page = text_of(agent_client.get(register_url(commune, activity, unit)))
    assert "2 enfants réservés" in page
    assert page.index("ABADIE") < page.index("ZOLA")
    assert "⚠ PAI" in page
    assert "WAITING Léa" not in page.split("Ajouter une présence non réservée")[0]
    assert "1 liste d'attente" in page
    assert "MS" in page and "Ecole du PARC" in page
    assert "absents, 2 à pointer." in page
    assert "Enregistrer le pointage" in page


def test_the_declared_absence_is_shown(agent_client, commune, activity, unit):
    sick = kid(activity, "MALADE")
    away = kid(activity, "PARTI")
    kid(activity, "LA")
    Absence.objects.create(
        commune=commune, famille=sick.famille, child=sick, first_day=DAY,
        last_day=DAY + timedelta(days=2), reason=AbsenceReason.MALADIE, justified=True,
    )  # fmt: skip
    Absence.objects.create(
        commune=commune, famille=away.famille, child=away, first_day=DAY - timedelta(days=1),
        last_day=DAY, reason=AbsenceReason.FAMILLE,
    )  # fmt: skip
    Absence.objects.create(  # another day: not shown
        commune=commune, famille=away.famille, child=away, first_day=DAY + timedelta(days=1),
        last_day=DAY + timedelta(days=1), reason=AbsenceReason.AUTRE, justified=True,
    )  # fmt: skip
    page = text_of(agent_client.get(register_url(commune, activity, unit)))
    assert "absence signalée (justifiée) du 16/11 au 18/11 — Maladie" in page
    assert "absence signalée (non justifiée) du 15/11 au 16/11 — Raison familiale" in page
    assert page.count("absence signalée") == 2


# --- Ticking -------------------------------------------------------------------------------------


def test_ticking_saves_exactly_what_was_ticked(
    agent_client, enfance_agent, commune, activity, unit
):
    here, away, later = kid(activity, "ICI"), kid(activity, "ABSENT"), kid(activity, "PLUSTARD")
    address = register_url(commune, activity, unit)
    response = agent_client.post(address, {**mark(here), **mark(away, value="absent")})
    assert response.status_code == 302
    assert response.url == address
    assert attendance(here, unit).present is True
    assert attendance(away, unit).present is False
    for row in Attendance.objects.all():
        assert row.booked is True
        assert row.recorded_by == enfance_agent
        assert row.commune == commune
        assert row.famille == row.child.famille
    assert not Attendance.objects.filter(child=later).exists()  # not ticked yet
    page = text_of(agent_client.get(address))
    assert "Pointage enregistré : 1 présent, 1 absent (2 pointages nouveaux ou modifiés)." in page
    assert "1 présent, 1 absent, 1 à pointer" in page
    assert "✓ présent" in page and "✗ absent" in page and "à pointer" in page


def test_the_radios_name_the_child_and_show_what_is_saved(agent_client, commune, activity, unit):
    child = kid(activity, "DURAND")
    agent_client.post(register_url(commune, activity, unit), mark(child, value="absent"))
    html = agent_client.get(register_url(commune, activity, unit)).content.decode()
    assert f'name="p-{child.pk}" value="absent" id="id_p-{child.pk}_1" checked' in html
    assert 'Absent<span class="visually-hidden"> — Léa DURAND</span>' in html
    assert "Pointage de DURAND Léa" in html


def test_re_ticking_changes_the_row_and_the_audit_keeps_the_history(
    agent_client, commune, activity, unit
):
    child, other = kid(activity, "DURAND"), kid(activity, "MARTIN")
    address = register_url(commune, activity, unit)
    agent_client.post(address, {**mark(child, value="absent"), **mark(other)})
    first = attendance(child, unit)
    agent_client.post(address, {**mark(child), **mark(other)})
    again = attendance(child, unit)
    assert again.pk == first.pk and again.present is True
    assert Attendance.objects.count() == 2
    entries = list(AuditEntry.objects.filter(action="presence.pointage").order_by("at", "pk"))
    assert len(entries) == 2
    assert entries[0].changes == {
        "day": [None, "2026-11-16"],
        "present": [None, 1],
        "absent": [None, 1],
        "changed": [None, 2],
        f"child:{child.pk}": [None, "absent"],
        f"child:{other.pk}": [None, "present"],
    }
    assert entries[1].changes == {
        "day": [None, "2026-11-16"],
        "present": [None, 2],
        "absent": [None, 0],
        "changed": [None, 1],
        f"child:{child.pk}": ["absent", "present"],
    }
    assert entries[1].target_type == "unit" and entries[1].target_id == str(unit.pk)
    assert entries[1].commune == commune
    # The same ticks again: nothing changes, no audit row.
    response = agent_client.post(address, {**mark(child), **mark(other)})
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="presence.pointage").count() == 2


def test_booked_is_computed_from_the_confirmed_booking(commune, activity, unit, enfance_agent):
    pending = kid(activity, "ATTENTE", days=())
    Reservation.objects.create(
        commune=commune, famille=pending.famille, child=pending, unit=unit, day=DAY,
        status=BookingStatus.EN_ATTENTE,
    )  # fmt: skip
    booked = kid(activity, "RESERVE")
    services.record_attendance(
        unit=unit, day=DAY, marks={pending.pk: True, booked.pk: True}, actor=enfance_agent,
        commune=commune,
    )  # fmt: skip
    assert attendance(booked, unit).booked is True
    assert attendance(pending, unit).booked is False  # « en attente d'instruction » is no booking


# --- Refused -------------------------------------------------------------------------------------


def test_a_child_of_another_activity_or_commune_cannot_be_ticked(
    agent_client, commune, activity, unit
):
    booked = kid(activity, "ICI")
    elsewhere = kid(make_activity(commune, slug="cantine"), "AILLEURS")
    far = kid(make_activity(CommuneFactory(slug="loin"), slug="peri"), "LOIN")
    address = register_url(commune, activity, unit)
    for forged in (elsewhere, far):
        response = agent_client.post(address, {**mark(booked), **mark(forged)})
        assert response.status_code == 400
        assert "Un enfant envoyé n'est pas sur ce registre : rien n'a été enregistré." in text_of(
            response
        )
    assert not Attendance.objects.exists()
    # The service refuses them too, and saves nothing of the rest (all or nothing).
    for forged in (elsewhere, far):
        with pytest.raises(services.NotOnRegister):
            services.record_attendance(
                unit=unit, day=DAY, marks={booked.pk: True, forged.pk: True}, actor=None,
                commune=commune,
            )  # fmt: skip
    assert not Attendance.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="presence.").exists()


def test_a_registered_child_can_be_ticked_but_not_a_refused_one(commune, activity, unit):
    came = kid(activity, "VENU", days=())
    refused = kid(activity, "REFUSE", days=())
    refused.inscriptions.update(status=InscriptionStatus.REFUSEE)
    services.record_attendance(
        unit=unit, day=DAY, marks={came.pk: True}, actor=None, commune=commune
    )
    assert attendance(came, unit).booked is False
    with pytest.raises(services.NotOnRegister):
        services.record_attendance(
            unit=unit, day=DAY, marks={refused.pk: True}, actor=None, commune=commune
        )
    other = CommuneFactory(slug="autre")
    with pytest.raises(ValueError):
        services.record_attendance(
            unit=unit, day=DAY, marks={came.pk: False}, actor=None, commune=other
        )


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"p-abc": "present"},
        {"p-": "present"},
        {"p-999999": "present"},
        {"formulaire": "pointage", "p-1.5": "x"},
    ],
)
def test_forged_or_empty_posts_are_refused_in_french(agent_client, commune, activity, unit, data):
    kid(activity, "DURAND")
    response = agent_client.post(register_url(commune, activity, unit), data)
    assert response.status_code == 400
    page = text_of(response)
    assert "Le pointage n'a pas pu être enregistré" in page
    assert not Attendance.objects.exists()


def test_a_bad_value_is_said_next_to_the_child_and_the_entries_are_kept(
    agent_client, commune, activity, unit
):
    good, bad = kid(activity, "BON"), kid(activity, "MAUVAIS")
    response = agent_client.post(
        register_url(commune, activity, unit),
        {**mark(good, value="absent"), **mark(bad, value="x")},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "MAUVAIS Léa : Sélectionnez un choix valide" in text_of(response)
    assert f'name="p-{good.pk}" value="absent" id="id_p-{good.pk}_1" checked' in html
    assert not Attendance.objects.exists()


def test_a_day_to_come_cannot_be_ticked(agent_client, commune, activity, unit):
    tomorrow = DAY + timedelta(days=1)
    child = kid(activity, "DURAND", days=(DAY, tomorrow))
    address = register_url(commune, activity, unit, tomorrow)
    page = text_of(agent_client.get(address))
    assert "Ce jour n'est pas encore arrivé" in page
    assert "Enregistrer le pointage" not in page
    assert "Ajouter une présence non réservée" not in page
    response = agent_client.post(address, mark(child))
    assert response.status_code == 400
    assert "Ce jour n'est pas encore arrivé : on ne pointe que le jour même." in text_of(response)
    response = agent_client.post(address, {"formulaire": "ajout", "enfant": child.pk})
    assert response.status_code == 400
    assert not Attendance.objects.exists()
    with pytest.raises(services.FutureDay):
        services.record_attendance(
            unit=unit, day=tomorrow, marks={child.pk: True}, actor=None, commune=commune
        )
    with pytest.raises(services.FutureDay):
        services.add_unbooked_presence(
            unit=unit, day=tomorrow, child=child, actor=None, commune=commune
        )
    assert not Attendance.objects.exists()


def test_the_day_comes_at_midnight_in_paris(commune, activity, unit):
    tomorrow = DAY + timedelta(days=1)
    child = kid(activity, "DURAND", days=(tomorrow,))
    before_midnight = datetime.combine(DAY, time(23, 59), tzinfo=PARIS)
    with time_machine.travel(before_midnight, tick=False), pytest.raises(services.FutureDay):
        services.record_attendance(
            unit=unit, day=tomorrow, marks={child.pk: True}, actor=None, commune=commune
        )
    with time_machine.travel(datetime.combine(tomorrow, time(0, 0), tzinfo=PARIS), tick=False):
        services.record_attendance(
            unit=unit, day=tomorrow, marks={child.pk: True}, actor=None, commune=commune
        )
    assert attendance(child, unit, tomorrow).present is True


def test_a_day_without_service_cannot_be_ticked(agent_client, commune, activity, unit):
    child = kid(activity, "DURAND")
    sunday = DAY - timedelta(days=1)  # the unit runs Mon, Tue, Thu, Fri
    with pytest.raises(services.NotRunning):
        services.record_attendance(
            unit=unit, day=sunday, marks={child.pk: True}, actor=None, commune=commune
        )
    ActivityClosure.objects.create(commune=commune, activity=activity, day=DAY, reason="grève")
    with pytest.raises(services.NotRunning, match="fermeture : grève"):
        services.record_attendance(
            unit=unit, day=DAY, marks={child.pk: True}, actor=None, commune=commune
        )
    page = text_of(agent_client.get(register_url(commune, activity, unit)))
    assert "Pas d'accueil ce jour-là : fermeture : grève." in page
    assert "Enregistrer le pointage" not in page
    assert not Attendance.objects.exists()


# --- Unbooked presence ---------------------------------------------------------------------------


def test_an_unbooked_presence_is_added_and_marked(
    agent_client, enfance_agent, commune, activity, unit
):
    kid(activity, "RESERVE")
    came = kid(activity, "VENU", first="Hugo", days=())
    address = register_url(commune, activity, unit)
    page = text_of(agent_client.get(address))
    assert "VENU Hugo (MS, Ecole du PARC)" in page  # in the select
    response = agent_client.post(address, {"formulaire": "ajout", "enfant": came.pk})
    assert response.status_code == 302 and response.url == address
    row = attendance(came, unit)
    assert (row.present, row.booked, row.recorded_by) == (True, False, enfance_agent)
    assert row.famille == came.famille
    page = text_of(agent_client.get(address))
    assert "Présence sans réservation ajoutée : Hugo VENU." in page
    assert "VENU Hugo présence sans réservation" in page
    assert "1 enfant réservé et 1 pointé sans réservation" in page
    assert "VENU Hugo (MS" not in page  # no longer offered
    entry = AuditEntry.objects.get(action="presence.sans_reservation")
    assert entry.famille_id == came.famille_id
    assert entry.changes == {"day": [None, "2026-11-16"], f"child:{came.pk}": [None, "present"]}
    # Corrected to absent on the register: stays listed, not booked, absent.
    agent_client.post(address, mark(came, value="absent"))
    row.refresh_from_db()
    assert (row.present, row.booked) == (False, False)
    assert "VENU Hugo sans réservation" in text_of(agent_client.get(address))


def test_an_unbooked_presence_is_refused_for_a_booked_or_unregistered_child(
    agent_client, commune, activity, unit
):
    booked = kid(activity, "RESERVE")
    elsewhere = kid(make_activity(commune, slug="cantine"), "AILLEURS", days=())
    far = kid(make_activity(CommuneFactory(slug="loin"), slug="peri"), "LOIN", days=())
    address = register_url(commune, activity, unit)
    for child in (booked, elsewhere, far):
        response = agent_client.post(address, {"formulaire": "ajout", "enfant": child.pk})
        assert response.status_code == 400
        assert "Sélectionnez un choix valide" in text_of(response)
    for value in ("", "abc", "-1"):
        response = agent_client.post(address, {"formulaire": "ajout", "enfant": value})
        assert response.status_code == 400
    with pytest.raises(services.AlreadyBooked):
        services.add_unbooked_presence(
            unit=unit, day=DAY, child=booked, actor=None, commune=commune
        )
    for child in (elsewhere, far):
        with pytest.raises(services.NotOnRegister):
            services.add_unbooked_presence(
                unit=unit, day=DAY, child=child, actor=None, commune=commune
            )
    assert not Attendance.objects.exists()


# --- School filter -------------------------------------------------------------------------------


def test_the_school_filter(agent_client, commune, activity, unit):
    parc = kid(activity, "PARC")
    kid(activity, "ALOUETTE", school="École Les Alouettes")
    kid(activity, "AUTREVENU", school="École Les Alouettes", days=())
    query = "?ecole=Ecole+du+PARC"
    page = text_of(agent_client.get(register_url(commune, activity, unit, query=query)))
    assert "PARC Léa" in page and "ALOUETTE" not in page
    assert "AUTREVENU" not in page  # the select too
    assert "1 enfant réservé" in page and "École : Ecole du PARC" in page
    address = register_url(commune, activity, unit, query=query)
    response = agent_client.post(address, mark(parc))
    assert response.url == address  # back to the same school
    rows = csv_rows(agent_client.get(csv_url(commune, activity, unit, query=query)))
    assert [row[0] for row in rows[1:]] == ["PARC"]
    summary = agent_client.get(url("registres", commune, query=query))
    assert "?ecole=Ecole+du+PARC" in summary.content.decode()  # the links keep it
    assert "08:20 : 1 réservé, 1 présent, 0 absent" in text_of(summary)
    everyone = text_of(agent_client.get(url("registres", commune)))
    assert "08:20 : 2 réservés, 1 présent, 0 absent" in everyone


# --- CSV -----------------------------------------------------------------------------------------


def test_register_csv(agent_client, commune, activity, unit):
    here = kid(activity, "=HACK", pai=True)
    away = kid(activity, "ABSENT")
    kid(activity, "BPASPOINTE")
    came = kid(activity, "VENU", days=())
    Absence.objects.create(
        commune=commune, famille=away.famille, child=away, first_day=DAY, last_day=DAY,
        reason=AbsenceReason.MALADIE,
    )  # fmt: skip
    services.record_attendance(
        unit=unit, day=DAY, marks={here.pk: True, away.pk: False}, actor=None, commune=commune
    )
    services.add_unbooked_presence(unit=unit, day=DAY, child=came, actor=None, commune=commune)
    response = agent_client.get(csv_url(commune, activity, unit))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"registre-peri-PERI_AM_M-{DAY.isoformat()}.csv" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == [
        "Nom", "Prénom", "Classe", "École", "PAI", "Famille", "Réservé", "Absence signalée",
        "Présent",
    ]  # fmt: skip
    by_name = {row[0]: row for row in rows[1:]}
    assert list(by_name) == ["'=HACK", "ABSENT", "BPASPOINTE", "VENU"]  # a formula is not run
    assert by_name["'=HACK"][2:] == [
        "MS", "Ecole du PARC", "oui", str(here.famille.number), "oui", "", "oui",
    ]  # fmt: skip
    assert by_name["ABSENT"][6:] == ["oui", "non justifiée", "non"]
    assert by_name["BPASPOINTE"][6:] == ["oui", "", ""]
    assert by_name["VENU"][6:] == ["non", "", "oui"]
    assert response.content.decode("utf-8").count("\r\n") == 5


# --- The day's registers -------------------------------------------------------------------------


def test_the_days_registers_count_per_unit(agent_client, commune, activity, unit):
    Unit.objects.create(
        commune=commune, activity=activity, code="PERI_PM_M", label="Acc Soir",
        starts_at=time(16, 30), ends_at=time(18, 30), weekdays=[0, 1, 3, 4], position=1,
    )  # fmt: skip
    mercredi = make_activity(commune, slug="mercredi", name="Loisirs du mercredi")
    mercredi.units.update(weekdays=[2], code="ALSH_MER", label="Journée")
    here, away = kid(activity, "ICI"), kid(activity, "ABSENT")
    kid(activity, "PASPOINTE")
    came = kid(activity, "VENU", days=())
    services.record_attendance(
        unit=unit, day=DAY, marks={here.pk: True, away.pk: False}, actor=None, commune=commune
    )
    services.add_unbooked_presence(unit=unit, day=DAY, child=came, actor=None, commune=commune)
    response = agent_client.get(url("registres", commune))
    assert response.status_code == 200
    page = text_of(response)
    assert "Registres de présence lundi 16/11/2026" in page
    assert (
        "Registre : Acc Matin PERI_AM_M 07:30–08:20 : 3 réservés, 2 présents, 1 absent, "
        "1 à pointer — dont 1 présent sans réservation" in page
    )
    assert "Registre : Acc Soir PERI_PM_M 16:30–18:30 : 0 réservé" in page
    assert "Journée ALSH_MER Pas d'accueil : pas d'accueil ce jour de la semaine" in page
    assert "Registre : Journée" not in page
    html = response.content.decode()
    assert register_url(commune, activity, unit) in html
    # Another day, one activity.
    tuesday = (DAY + timedelta(days=1)).isoformat()
    page = text_of(
        agent_client.get(url("registres", commune, query=f"?jour={tuesday}&activite=peri"))
    )
    assert "mardi 17/11/2026" in page
    assert "Loisirs du mercredi : enfants" not in page  # (still in the select)


@pytest.mark.parametrize(
    "query,error",
    [
        ("?jour=2026-02-31", "Saisissez une date valide."),
        ("?jour=", "Ce champ est obligatoire."),
        ("?jour=2026-11-16&ecole=Inconnue", "Sélectionnez un choix valide"),
        ("?jour=2026-11-16&activite=cachee", "Sélectionnez un choix valide"),
    ],
)
def test_the_days_registers_refuse_bad_filters_in_french(
    agent_client, commune, activity, query, error
):
    response = agent_client.get(url("registres", commune, query=query))
    assert response.status_code == 400
    assert error in text_of(response)


def test_the_days_registers_never_fail_on_odd_input(agent_client, commune, activity, unit):
    kid(activity, "ICI")
    page = text_of(agent_client.get(url("registres", commune, query="?ecole=Ecole+du+PARC")))
    assert "lundi 16/11/2026" in page and "1 réservé" in page  # today, when no day is given
    for jour in ("0001-01-01", "9999-12-31", "16/11/2026"):
        response = agent_client.get(url("registres", commune, query=f"?jour={jour}"))
        assert response.status_code == 200, jour
    for jour in ("0001-01-01", "9999-12-31"):
        assert (
            agent_client.get(
                register_url(commune, activity, unit, date.fromisoformat(jour))
            ).status_code
            == 200
        )
        assert (
            agent_client.get(csv_url(commune, activity, unit, date.fromisoformat(jour))).status_code
            == 200
        )
    response = agent_client.get(url("registres", commune, query="?jour=" + "9" * 300))
    assert response.status_code == 400


def test_the_activities_page_links_to_the_registers(agent_client, commune, activity):
    html = agent_client.get(url("activites", commune)).content.decode()
    assert f'href="{url("registres", commune)}">Registres de présence</a>' in html


# --- Query counts --------------------------------------------------------------------------------


def test_register_queries_do_not_grow_with_children(
    agent_client, commune, activity, unit, django_assert_max_num_queries
):
    address = register_url(commune, activity, unit)
    first = kid(activity, "F")
    with django_assert_max_num_queries(12) as one:
        agent_client.get(address)
    children = [kid(activity, f"F{n}", pai=n % 2 == 0) for n in range(6)]
    for n in range(3):
        kid(activity, f"V{n}", days=())
    came = kid(activity, "VENU", days=())
    services.add_unbooked_presence(unit=unit, day=DAY, child=came, actor=None, commune=commune)
    services.record_attendance(
        unit=unit, day=DAY, marks={c.pk: bool(i % 2) for i, c in enumerate([first, *children])},
        actor=None, commune=commune,
    )  # fmt: skip
    Absence.objects.create(
        commune=commune, famille=first.famille, child=first, first_day=DAY, last_day=DAY,
        reason=AbsenceReason.MALADIE,
    )  # fmt: skip
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = agent_client.get(address)
    assert "7 enfants réservés et 1 pointé sans réservation" in text_of(response)
    with django_assert_max_num_queries(len(one.captured_queries)):
        agent_client.get(csv_url(commune, activity, unit))


def test_saving_queries_do_not_grow_much_with_children(
    agent_client, commune, activity, unit, django_assert_max_num_queries
):
    children = [kid(activity, f"F{n}") for n in range(8)]
    address = register_url(commune, activity, unit)
    # One insert per child ticked the first time, one update per change after: nothing more.
    with django_assert_max_num_queries(30 + len(children)):
        agent_client.post(address, mark(*children))
    assert Attendance.objects.filter(present=True).count() == 8


def test_the_days_registers_queries_do_not_grow_with_units(
    agent_client, commune, activity, unit, django_assert_max_num_queries
):
    kid(activity, "ICI")
    address = url("registres", commune, query="?jour=2026-11-16&ecole=Ecole+du+PARC")
    with django_assert_max_num_queries(10) as one:
        agent_client.get(address)
    for n in range(3):
        other = make_activity(commune, slug=f"act-{n}", name=f"Activité {n}")
        Unit.objects.create(
            commune=commune, activity=other, code="SOIR", label="Soir", starts_at=time(16, 30),
            ends_at=time(18, 0), weekdays=[0, 1, 3, 4],
        )  # fmt: skip
        kid(other, f"K{n}")
    ActivityClosure.objects.create(
        commune=commune, activity=None, day=DAY + timedelta(1), reason="x"
    )
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = agent_client.get(address)
    assert text_of(response).count("Registre : ") == 7


# --- « Retard le soir » --------------------------------------------------------------------------


@pytest.fixture
def evening(commune):
    """An evening care activity: its only unit « Acc Soir » ends at 18:30."""
    activity = make_activity(commune, capacity=40, slug="soir", name="Accueil du soir")
    Unit.objects.filter(activity=activity).update(
        code="PERI_PM_M", label="Acc Soir", starts_at=time(16, 30), ends_at=time(18, 30)
    )
    return activity


def test_an_evening_register_has_a_late_pickup_box_per_child(agent_client, commune, evening):
    unit = evening.units.get()
    child = kid(evening, "DURAND")
    html = agent_client.get(register_url(commune, evening, unit)).content.decode()
    assert f'<input type="checkbox" name="r-{child.pk}" id="id_r-{child.pk}">' in html
    assert f'<label class="registre-choice" for="id_r-{child.pk}">' in html
    assert 'Retard le soir<span class="visually-hidden"> — Léa DURAND</span>' in html


def test_a_morning_register_has_no_late_pickup_box(agent_client, commune, activity, unit):
    child = kid(activity, "DURAND")
    html = agent_client.get(register_url(commune, activity, unit)).content.decode()
    assert f'name="r-{child.pk}"' not in html
    response = agent_client.post(
        register_url(commune, activity, unit), {**mark(child), f"r-{child.pk}": "on"}
    )
    assert response.status_code == 400  # not a field of this register: forged
    assert not Attendance.objects.exists()


def test_late_pickup_is_saved_shown_and_audited(agent_client, commune, evening):
    unit = evening.units.get()
    late, on_time = kid(evening, "DURAND"), kid(evening, "MARTIN")
    address = register_url(commune, evening, unit)
    response = agent_client.post(address, {**mark(late, on_time), f"r-{late.pk}": "on"})
    assert response.status_code == 302
    assert attendance(late, unit).late_pickup is True
    assert attendance(on_time, unit).late_pickup is False
    page = agent_client.get(address)
    assert "✓ présent — retard le soir" in text_of(page)
    assert f'name="r-{late.pk}" id="id_r-{late.pk}" checked' in page.content.decode()
    first = AuditEntry.objects.get(action="presence.pointage")
    assert first.changes[f"child:{late.pk}:late_pickup"] == [False, True]
    assert f"child:{on_time.pk}:late_pickup" not in first.changes
    # Unticking the box alone is a change, audited too.
    agent_client.post(address, mark(late, on_time))
    assert attendance(late, unit).late_pickup is False
    second = AuditEntry.objects.filter(action="presence.pointage").latest("at", "pk")
    assert second.changes[f"child:{late.pk}:late_pickup"] == [True, False]
    assert second.changes["changed"] == [None, 1]


def test_late_pickup_for_an_absent_child_is_refused_next_to_it(agent_client, commune, evening):
    unit = evening.units.get()
    child = kid(evening, "DURAND")
    response = agent_client.post(
        register_url(commune, evening, unit),
        {**mark(child, value="absent"), f"r-{child.pk}": "on"},
    )
    assert response.status_code == 400
    assert (
        "Retard le soir — Léa DURAND : « Retard le soir » ne s'applique qu'à un enfant pointé "
        "présent."
    ) in text_of(response)
    assert not Attendance.objects.exists()


def test_the_service_never_marks_an_absent_child_late(commune, evening):
    unit = evening.units.get()
    child = kid(evening, "DURAND")
    services.record_attendance(
        unit=unit, day=DAY, marks={child.pk: False}, late_pickups={child.pk}, actor=None,
        commune=commune,
    )  # fmt: skip
    assert attendance(child, unit).late_pickup is False
    # Without `late_pickups`, the box is left as it was.
    services.record_attendance(
        unit=unit, day=DAY, marks={child.pk: True}, late_pickups={child.pk}, actor=None,
        commune=commune,
    )  # fmt: skip
    services.record_attendance(
        unit=unit, day=DAY, marks={child.pk: True}, actor=None, commune=commune
    )
    assert attendance(child, unit).late_pickup is True
