"""Seed 003 (Carrières-sur-Seine, « code famille » mode) against the whole demo: the login
identifier is called by the commune's login mode everywhere, the portal carries the commune's
own name, the postal-code hint is the commune's code, « Coordonnées » leads to the change
request (in both communes, unless a commune turns it off), MARTIN is greeted with its last
visit and only MOREAU with « Première connexion », and the demo has an activity to book and an
invoice to pay. Each test fails without the behaviour it names."""

import re
from datetime import date, timedelta
from decimal import Decimal as D
from html import unescape

import pytest
import time_machine
from django.core import mail

from parvis.accounts.models import User
from parvis.activities.models import Inscription, InscriptionStatus, Reservation, Unit
from parvis.activities.services import closures_of, why_not_bookable
from parvis.billing.models import Invoice, InvoiceStatus
from parvis.communes.demo import DEMO_PASSWORD
from parvis.communes.models import Commune
from parvis.demarches import services as demarches_services
from parvis.demarches.models import Demande, Status
from parvis.families import demo as families_demo
from parvis.families.models import Famille, MemberKind
from parvis.portal.management.commands.load_demo import LOADERS

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 23)  # a Monday in term
CSS, CSP = "/carrieres-sur-seine", "/carrieres-sous-poissy"


@pytest.fixture
def demo():
    with time_machine.travel(TODAY, tick=False):
        for loader in LOADERS:
            loader()
        yield {c.slug: c for c in Commune.objects.all()}


def text_of(response) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def label_of(response, for_id: str) -> str:
    match = re.search(rf'<label for="{for_id}"[^>]*>(.*?)</label>', response.content.decode(), re.S)
    assert match, for_id
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", match.group(1)))).strip()


def log_in(client, prefix, identifier, password=DEMO_PASSWORD):
    response = client.post(f"{prefix}/connexion/", {"username": identifier, "password": password})
    assert response.status_code == 302, text_of(response)
    return response


# --- (1) What the login identifier is called ------------------------------------------------------


def test_home_box_and_login_page_call_the_identifier_by_the_communes_login_mode(demo, client):
    assert label_of(client.get(f"{CSS}/"), "home-identifiant") == "Code famille"
    assert label_of(client.get(f"{CSS}/connexion/"), "id_username") == "Code famille"
    assert label_of(client.get(f"{CSP}/"), "home-identifiant") == "Identifiant"
    assert label_of(client.get(f"{CSP}/connexion/"), "id_username") == "Identifiant"
    Commune.objects.filter(slug="carrieres-sur-seine").update(login_with_email=True)
    assert label_of(client.get(f"{CSS}/"), "home-identifiant") == "Courriel ou code famille"
    assert label_of(client.get(f"{CSS}/connexion/"), "id_username") == "Courriel ou code famille"


def test_code_famille_errors_and_the_space_name_the_code_famille(demo, client):
    empty = text_of(client.post(f"{CSS}/connexion/", {"username": "", "password": "x"}))
    assert "Indiquez votre code famille." in empty
    wrong = text_of(client.post(f"{CSS}/connexion/", {"username": "F000001", "password": "x"}))
    assert "Code famille ou mot de passe incorrect." in wrong
    log_in(client, CSS, families_demo.FAMILY_CODE_READY)
    page = text_of(client.get(f"{CSS}/mon-espace/modifier/"))
    assert "Authentification Code famille F000001" in page
    # E-mail mode keeps the seed's word.
    wrong = text_of(client.post(f"{CSP}/connexion/", {"username": "x@example.fr", "password": "x"}))
    assert "Identifiant ou mot de passe incorrect." in wrong


# --- (2) The portal's name ------------------------------------------------------------------------


def test_the_portal_carries_the_communes_own_name(demo, client):
    home = client.get(f"{CSS}/")
    header = re.search(r'<span class="brand__tagline">(.*?)</span>', home.content.decode()).group(1)
    assert header.strip() == "Espace Citoyens Premium"
    title = re.search(r"<title>(.*?)</title>", home.content.decode(), re.S).group(1)
    assert re.sub(r"\s+", " ", title).strip() == (
        "Accueil — Espace Citoyens Premium — Carrières-sur-Seine"
    )
    assert "Bienvenue sur le portail « Espace Citoyens Premium » de Carrières-sur-Seine" in (
        text_of(home)
    )
    assert "démarches numériques" not in home.content.decode().lower()
    other = client.get(f"{CSP}/").content.decode()
    assert '<span class="brand__tagline">Démarches numériques</span>' in other


def test_the_password_reset_email_names_the_portal(
    demo, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{CSS}/mot-de-passe-oublie/", {"identifier": families_demo.FAMILY_CODE_READY})
    (message,) = mail.outbox
    assert "votre espace sur le portail « Espace Citoyens Premium » de Carrières-sur-Seine" in (
        message.body
    )


def test_the_commune_administrator_edits_the_portal_name_and_the_change_request(demo, client):
    admin = User.objects.get(username="admin-carrieres-sur-seine")
    client.force_login(admin)
    commune = demo["carrieres-sur-seine"]
    page = client.get(f"/admin/communes/commune/{commune.pk}/change/").content.decode()
    assert 'name="nom_portail"' in page
    assert 'name="changement_adresse_en_ligne"' in page


# --- (3) The postal-code hint --------------------------------------------------------------------


def test_the_postal_code_hint_is_the_communes_code(demo, client):
    log_in(client, CSS, families_demo.FAMILY_CODE_READY)
    page = text_of(client.get(f"{CSS}/mon-espace/mes-informations/?onglet=coordonnees"))
    assert "5 chiffres, par exemple : 78420." in page
    assert "78955" not in page
    refused = client.post(
        f"{CSS}/mon-espace/mes-informations/?onglet=coordonnees",
        {"last_name": "MARTIN", "first_name": "Sophie", "postal_code": "7842"},
    )
    assert "Le code postal comporte 5 chiffres, par exemple : 78420." in text_of(refused)
    assert 'value="7842"' in refused.content.decode()  # the entry stays


def test_the_sign_up_address_step_gives_the_communes_code(client):
    from parvis.accounts.tests.test_signup import ADDRESS, fill_steps, post_step, step_url
    from parvis.communes.tests.factories import CommuneFactory

    commune = CommuneFactory(postal_code="78420")
    fill_steps(client, commune.slug, until=1)
    assert "5 chiffres, par exemple : 78420." in text_of(client.get(step_url(commune.slug, 2)))
    refused = post_step(client, commune.slug, 2, {**ADDRESS, "postal_code": "7842"})
    assert "Le code postal comporte 5 chiffres, par exemple : 78420." in text_of(refused)


# --- (4) and (7) « Coordonnées » leads to the change request ------------------------------------


@pytest.mark.parametrize(
    ("prefix", "identifier"),
    [(CSS, families_demo.FAMILY_CODE_READY), (CSP, families_demo.CITIZEN_EMAIL)],
)
def test_coordonnees_links_to_the_change_request_in_both_communes(demo, client, prefix, identifier):
    log_in(client, prefix, identifier)
    for tab in ("coordonnees", "compte"):
        response = client.get(f"{prefix}/mon-espace/mes-informations/?onglet={tab}")
        link = f'href="{prefix}/demarches/changement-de-coordonnees/"'
        assert link in response.content.decode(), tab
        assert "Signalement d'un changement de coordonnées" in text_of(response)
    assert client.get(f"{prefix}/demarches/changement-de-coordonnees/").status_code == 200


def test_a_commune_that_turns_the_request_off_says_whom_to_call(demo, client):
    Commune.objects.filter(slug="carrieres-sur-seine").update(changement_adresse_en_ligne=False)
    log_in(client, CSS, families_demo.FAMILY_CODE_READY)
    response = client.get(f"{CSS}/mon-espace/mes-informations/?onglet=coordonnees")
    page = text_of(response)
    assert "changement-de-coordonnees" not in response.content.decode()
    assert "pour les faire modifier, contactez : Scolaire-Enfance-Jeunesse (SEJ)" in page
    assert "01 30 86 89 30" in page
    assert client.get(f"{CSS}/demarches/changement-de-coordonnees/").status_code == 404
    assert "changement de coordonnées" not in text_of(client.get(f"{CSS}/demarches/"))
    # The other commune keeps it.
    client.logout()
    log_in(client, CSP, families_demo.CITIZEN_EMAIL)
    assert client.get(f"{CSP}/demarches/changement-de-coordonnees/").status_code == 200


def test_a_change_of_address_filed_and_accepted_updates_the_martin_file(demo, client):
    log_in(client, CSS, families_demo.FAMILY_CODE_READY)
    start = client.post(f"{CSS}/demarches/changement-de-coordonnees/")
    assert start.status_code == 302
    step = start["Location"]
    form = client.get(step)
    assert "5 chiffres, par exemple : 78420." in text_of(form)
    sent = client.post(
        step,
        {
            "adresse__street": "12, quai Charles-de-Gaulle",
            "adresse__postal_code": "78420",
            "adresse__city": "Carrières-sur-Seine",
            "telephone": "06 55 44 33 22",
            "courriel": "sophie.martin@example.org",
            "tout_le_foyer": "oui",
        },
    )
    assert sent.status_code == 302, text_of(sent)
    summary = client.get(sent["Location"])
    assert "12, quai Charles-de-Gaulle" in text_of(summary)
    client.post(sent["Location"])
    demande = Demande.objects.get(procedure__slug="changement-de-coordonnees")
    assert demande.status == Status.EN_ATTENTE
    agent = User.objects.get(username="css-sej")
    client.force_login(agent)
    assert client.get(f"{CSS}/guichet/demandes/{demande.number}/").status_code == 200
    demarches_services.transition(demande=demande, to=Status.ACCEPTEE, actor=agent)
    famille = Famille.objects.get(commune__slug="carrieres-sur-seine", number=1)
    assert (famille.address, famille.postal_code) == ("12, quai Charles-de-Gaulle", "78420")
    sophie = famille.members.get(kind=MemberKind.RESPONSABLE)
    assert (sophie.phone, sophie.email) == ("06 55 44 33 22", "sophie.martin@example.org")


def test_a_move_that_keeps_the_prefilled_phone_and_email_leaves_the_family_file_s_own(demo, client):
    """The form is prefilled from the account: left as they are, the phone and e-mail are no
    news and must not overwrite what the services typed in the family file."""
    famille = Famille.objects.get(commune__slug="carrieres-sur-seine", number=1)
    sophie = famille.members.get(kind=MemberKind.RESPONSABLE)
    sophie.phone, sophie.email = "01 30 15 00 00", "s.martin@mairie-travail.example"
    sophie.save(update_fields=["phone", "email"])
    log_in(client, CSS, families_demo.FAMILY_CODE_READY)
    account = User.objects.get(family_code=families_demo.FAMILY_CODE_READY)
    account.phone, account.email = "06 11 22 33 44", "sophie@example.org"
    account.save(update_fields=["phone", "email"])
    step = client.post(f"{CSS}/demarches/changement-de-coordonnees/")["Location"]
    sent = client.post(
        step,
        {
            "adresse__street": "3, rue Victor-Hugo",
            "adresse__postal_code": "78420",
            "adresse__city": "Carrières-sur-Seine",
            "telephone": account.phone,
            "courriel": account.email,
            "tout_le_foyer": "oui",
        },
    )
    assert sent.status_code == 302, text_of(sent)
    client.post(sent["Location"])
    demande = Demande.objects.get(procedure__slug="changement-de-coordonnees")
    agent = User.objects.get(username="css-sej")
    demarches_services.transition(demande=demande, to=Status.ACCEPTEE, actor=agent)

    sophie.refresh_from_db()
    assert (sophie.phone, sophie.email) == ("01 30 15 00 00", "s.martin@mairie-travail.example")
    famille.refresh_from_db()
    assert famille.address == "3, rue Victor-Hugo"


# --- (5) Who is greeted « Première connexion » ----------------------------------------------------


def test_martin_is_greeted_with_its_last_visit_and_moreau_with_premiere_connexion(demo, client):
    log_in(client, CSS, families_demo.FAMILY_CODE_READY)
    home = text_of(client.get(f"{CSS}/mon-espace/"))
    assert "Bonjour Madame MARTIN" in home
    assert "Dernière connexion le 17/11/2025 à 18:42" in home
    assert "Première connexion" not in home
    client.logout()
    response = log_in(
        client, CSS, families_demo.FAMILY_CODE_FIRST_LOGIN, families_demo.FIRST_LOGIN_PASSWORD
    )
    assert response["Location"] == f"{CSS}/premiere-connexion/"
    client.post(
        f"{CSS}/premiere-connexion/",
        {
            "new_password1": "un-mot-de-passe-choisi-26",
            "new_password2": "un-mot-de-passe-choisi-26",
            "email": "karim.moreau@example.fr",
        },
    )
    assert "Première connexion" in text_of(client.get(f"{CSS}/mon-espace/"))


# --- (6) The demo lets the guide be walked whole --------------------------------------------------


def _bookable(unit, first, last, now):
    activity = unit.activity
    closures = closures_of(activity, first, last)
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [
        day
        for day in days
        if not Reservation.objects.filter(unit=unit, day=day, child__first_names="Jules").exists()
        and why_not_bookable(
            activity=activity, unit=unit, day=day, now=now, closures=closures, registered=True
        )
        is None
    ]


def test_martin_has_an_open_activity_with_free_days_this_month_and_next(demo):
    from django.utils import timezone

    inscriptions = Inscription.objects.filter(
        commune__slug="carrieres-sur-seine", child__first_names="Jules"
    ).select_related("activity")
    assert {i.activity.name for i in inscriptions} == {
        "Accueil périscolaire élémentaire",
        "Restauration scolaire",
    }
    assert {i.status for i in inscriptions} == {InscriptionStatus.ACCEPTEE}
    soir = Unit.objects.get(commune__slug="carrieres-sur-seine", code="GARD_PM")
    assert soir.label == "Garderie du soir"
    now = timezone.now()
    this_month = _bookable(soir, TODAY, date(2026, 11, 30), now)
    next_month = _bookable(soir, date(2026, 12, 1), date(2026, 12, 31), now)
    assert this_month and next_month
    booked = Reservation.objects.filter(child__first_names="Jules", unit__code="GARD_AM")
    assert booked.exists()


def test_martin_has_last_months_invoice_to_pay(demo):
    invoice = Invoice.objects.get(famille__commune__slug="carrieres-sur-seine")
    assert invoice.famille.name == "MARTIN"
    assert (invoice.month, invoice.status) == (date(2026, 10, 1), InvoiceStatus.A_REGLER)
    # By hand: October 2026 until the Toussaint holidays (zone C, from Saturday the 17th): 10
    # meals at 4,10 € (Thursday 1st, Friday 2nd, then Mon, Tue, Thu, Fri up to the 16th) and 4
    # mornings at 1,50 € (Mondays and Tuesdays 5, 6, 12, 13): 41,00 € + 6,00 €.
    assert invoice.total == D("47.00")
