"""The first deployment: the admin's door opens to anyone not logged in, and the operator creates
a commune (its services, procedures and first administrator) from the command line or the admin.
"""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from parvis.accounts.models import AgentRole, AuditEntry, User
from parvis.communes.models import Commune, Service
from parvis.communes.services import DEFAULT_SERVICES
from parvis.communes.tests.factories import CommuneFactory, OperatorFactory
from parvis.communes.tests.test_admin import add_url, form_data, page
from parvis.demarches.catalogue import catalogue_entries
from parvis.demarches.models import Procedure

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
STRONG = "Un-mot-de-passe-solide-2026"
OPERATOR_PASSWORD = "mot-de-passe-de-test"
COMMUNE = {
    "--slug": "gamma-sur-oise",
    "--name": "Gamma-sur-Oise",
    "--postal-code": "95000",
    "--address": "1, place de la Mairie",
    "--phone": "01 30 00 00 00",
    "--email": "mairie@gamma.fr",
    "--zone": "C",
}


def _args(**overrides) -> list[str]:
    options = {**COMMUNE, **overrides}
    return [part for pair in options.items() for part in pair if part is not None]


# --- The admin's door ---------------------------------------------------------------------------


def test_the_admin_login_page_opens_to_anyone_not_logged_in(client):
    response = client.get(LOGIN)

    assert response.status_code == 200
    assert 'name="username"' in page(response)


def test_a_wrong_password_at_the_admin_is_answered_not_a_500(client):
    OperatorFactory(username="op")

    response = client.post(LOGIN, {"username": "op", "password": "pas-le-bon"})

    assert response.status_code == 200
    assert "Veuillez compléter correctement" in page(response)
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("commune_admin", [False, True])
def test_the_operator_and_a_commune_administrator_log_in_at_the_admin(client, commune_admin):
    if commune_admin:
        call_command("create_commune", *_args(**{"--slug": "delta", "--admin": "admin-delta"}))
        commune = Commune.objects.get(slug="delta")
        username, password = "admin-delta", STRONG
    else:
        OperatorFactory(username="op")
        username, password = "op", OPERATOR_PASSWORD

    response = client.post(
        f"{LOGIN}?next=/admin/", {"username": username, "password": password, "next": "/admin/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    index = client.get("/admin/")
    assert index.status_code == 200
    assert reverse("admin:communes_commune_changelist") in page(index)
    if commune_admin:
        listing = client.get(reverse("admin:communes_commune_changelist"))
        assert list(listing.context["cl"].result_list) == [commune]


def _admin_login(client, password, *, ip):
    return client.post(LOGIN, {"username": "op", "password": password}, REMOTE_ADDR=ip)


def test_the_admin_door_is_throttled_per_name_and_address_not_for_everyone(client):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from parvis.accounts.models import Attempt

    OperatorFactory(username="op")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for _attempt in range(4):
            refused = _admin_login(client, "pas-le-bon", ip="203.0.113.9")
            assert refused.status_code == 200
            assert "Veuillez compléter correctement" in page(refused)
        # The fifth failure says the address must wait.
        fifth = _admin_login(client, "pas-le-bon", ip="203.0.113.9")
        assert "Trop de tentatives de connexion" in page(fifth)
        # The attacker's address is locked, even with the right password.
        locked = _admin_login(client, OPERATOR_PASSWORD, ip="203.0.113.9")
        assert "Trop de tentatives de connexion" in page(locked)
        assert "_auth_user_id" not in client.session
        # The operator elsewhere is only slowed down: 2 s after the last failure.
        clock.shift(timedelta(seconds=1))
        slowed = _admin_login(client, OPERATOR_PASSWORD, ip="198.51.100.7")
        assert "réessayez dans 1 seconde" in page(slowed)
        clock.shift(timedelta(seconds=2))
        assert _admin_login(client, OPERATOR_PASSWORD, ip="198.51.100.7").status_code == 302

    rows = Attempt.objects.filter(kind=Attempt.Kind.ADMIN_LOGIN)
    assert rows.count() == 8
    assert not rows.exclude(commune=None).exists()


def test_a_communes_guichet_failures_do_not_throttle_the_admin_door(client):
    from django.utils import timezone

    from parvis.accounts.models import Attempt

    commune = CommuneFactory()
    OperatorFactory(username="op")
    Attempt.objects.bulk_create(
        Attempt(commune=commune, kind=Attempt.Kind.AGENT_LOGIN, identifier="agent:op",
                ip="203.0.113.9", at=timezone.now())
        for _ in range(40)
    )  # fmt: skip

    assert _admin_login(client, OPERATOR_PASSWORD, ip="203.0.113.9").status_code == 302


@pytest.fixture(autouse=True)
def _admin_password(monkeypatch):
    monkeypatch.setenv("PARVIS_ADMIN_PASSWORD", STRONG)


# --- manage.py create_commune -------------------------------------------------------------------


def test_create_commune_makes_a_commune_ready_to_serve(capsys):
    call_command("create_commune", *_args(**{"--admin": "admin-gamma", "--admin-email": "a@g.fr"}))

    commune = Commune.objects.get(slug="gamma-sur-oise")
    assert (commune.name, commune.holiday_zone) == ("Gamma-sur-Oise", "C")
    assert (commune.login_with_email, commune.login_with_family_code) == (True, False)
    services = Service.objects.filter(commune=commune)
    assert sorted(s.kind for s in services) == sorted(kind for kind, *_ in DEFAULT_SERVICES)
    # Every shipped procedure, each instructed by a service of the new commune.
    procedures = Procedure.objects.filter(commune=commune)
    assert procedures.count() == len(catalogue_entries())
    assert not procedures.exclude(service__commune=commune).exists()
    admin = User.objects.get(username="admin-gamma")
    assert (admin.commune, admin.is_staff, admin.is_superuser) == (commune, True, False)
    assert admin.check_password(STRONG)
    assert admin.groups.filter(name="Administrateurs de commune").exists()
    assert AgentRole.objects.filter(user=admin, role=AgentRole.Role.ADMINISTRATEUR).exists()
    assert set(AuditEntry.objects.filter(commune=commune).values_list("action", flat=True)) == {
        "commune.creee",
        "commune.administrateur_cree",
    }
    assert "Commune « Gamma-sur-Oise » créée : /gamma-sur-oise/" in capsys.readouterr().out


def test_create_commune_with_family_codes():
    call_command("create_commune", *_args(), "--family-code")

    commune = Commune.objects.get(slug="gamma-sur-oise")
    assert (commune.login_with_email, commune.login_with_family_code) == (False, True)


def test_create_commune_refuses_a_taken_address_in_french_and_creates_nothing():
    CommuneFactory(slug="gamma-sur-oise")

    with pytest.raises(CommandError, match="slug : Un objet Commune avec ce champ"):
        call_command("create_commune", *_args(**{"--admin": "admin-gamma"}))

    assert not User.objects.filter(username="admin-gamma").exists()
    assert Commune.objects.filter(slug="gamma-sur-oise").count() == 1


def test_create_commune_refuses_a_weak_administrator_password_and_creates_nothing(monkeypatch):
    monkeypatch.setenv("PARVIS_ADMIN_PASSWORD", "1234")

    with pytest.raises(CommandError, match="password : "):
        call_command("create_commune", *_args(**{"--admin": "admin-gamma"}))

    assert not Commune.objects.filter(slug="gamma-sur-oise").exists()
    assert not Service.objects.exists()


def test_create_commune_without_a_password_and_no_terminal_says_where_to_put_it(monkeypatch):
    monkeypatch.delenv("PARVIS_ADMIN_PASSWORD")
    monkeypatch.setattr("os.isatty", lambda fd: False)

    with pytest.raises(CommandError, match="PARVIS_ADMIN_PASSWORD"):
        call_command("create_commune", *_args(**{"--admin": "admin-gamma"}))

    assert not Commune.objects.exists()


# --- « Ajouter une commune » in the admin -------------------------------------------------------


def _add_form(client, **fields):
    data = form_data(client.get(add_url("commune")))
    data.update(
        name="Gamma",
        slug="gamma",
        address="2, rue de la Paix",
        postal_code="78100",
        phone="01 02 03 04 05",
        email="mairie@gamma.fr",
        holiday_zone="C",
        **fields,
    )
    return data


def test_the_operator_adds_a_commune_and_its_first_administrator_in_the_admin(client):
    client.force_login(OperatorFactory())
    data = _add_form(
        client,
        admin_username="admin-gamma",
        admin_email="admin@gamma.fr",
        admin_password1=STRONG,
        admin_password2=STRONG,
    )

    response = client.post(add_url("commune"), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    gamma = Commune.objects.get(slug="gamma")
    assert Service.objects.filter(commune=gamma).count() == len(DEFAULT_SERVICES)
    assert Procedure.objects.filter(commune=gamma).count() == len(catalogue_entries())
    admin = User.objects.get(username="admin-gamma")
    assert (admin.commune, admin.email) == (gamma, "admin@gamma.fr")
    assert admin.check_password(STRONG)


def test_the_admin_add_form_keeps_the_entries_when_the_passwords_differ(client):
    client.force_login(OperatorFactory())
    data = _add_form(
        client,
        admin_username="admin-gamma",
        admin_password1=STRONG,
        admin_password2=STRONG + "x",
    )

    response = client.post(add_url("commune"), data)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["admin_password2"] == ["Les deux mots de passe diffèrent."]
    assert form["name"].value() == "Gamma"
    assert form["admin_username"].value() == "admin-gamma"
    assert not Commune.objects.filter(slug="gamma").exists()
    assert not User.objects.filter(username="admin-gamma").exists()


def test_a_commune_added_without_an_administrator_still_gets_its_services(client):
    client.force_login(OperatorFactory())

    response = client.post(add_url("commune"), _add_form(client))

    assert response.status_code == 302
    gamma = Commune.objects.get(slug="gamma")
    assert Service.objects.filter(commune=gamma).count() == len(DEFAULT_SERVICES)
    assert not User.objects.filter(commune=gamma).exists()


def test_an_administrator_name_the_accounts_refuse_is_an_error_next_to_it_not_a_500(client):
    client.force_login(OperatorFactory())
    data = _add_form(
        client, admin_username="jean dupont!", admin_password1=STRONG, admin_password2=STRONG
    )

    response = client.post(add_url("commune"), data)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "Saisissez un nom d’utilisateur valide" in form.errors["admin_username"][0]
    assert form["name"].value() == "Gamma"
    assert not Commune.objects.filter(slug="gamma").exists()


def test_an_administrator_without_a_name_is_not_dropped_silently(client):
    client.force_login(OperatorFactory())
    data = _add_form(
        client, admin_email="admin@gamma.fr", admin_password1=STRONG, admin_password2=STRONG
    )

    response = client.post(add_url("commune"), data)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["admin_username"] == ["Indiquez l'identifiant de l'administrateur."]
    assert form["admin_email"].value() == "admin@gamma.fr"
    assert not Commune.objects.filter(slug="gamma").exists()
    assert 'autocomplete="new-password"' in page(response)


def test_create_commune_refuses_an_administrator_name_taken_in_another_case():
    User.objects.create_user(username="Admin-Gamma", password=STRONG)

    with pytest.raises(CommandError, match="username : Cet identifiant est déjà pris"):
        call_command("create_commune", *_args(**{"--admin": "admin-gamma"}))

    assert not Commune.objects.filter(slug="gamma-sur-oise").exists()
    assert User.objects.filter(username__iexact="admin-gamma").count() == 1


def test_a_commune_added_by_an_operator_reading_english_gets_its_services_in_french(client):
    from django.conf import settings

    client.force_login(OperatorFactory())
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.post(add_url("commune"), _add_form(client))

    assert response.status_code == 302
    names = set(Service.objects.filter(commune__slug="gamma").values_list("name", flat=True))
    assert names == {
        "Accueils périscolaires et de loisirs",
        "Affaires scolaires",
        "État civil",
        "Régie centrale",
    }
    assert Service.objects.get(commune__slug="gamma", kind="enfance").key_label == (
        "Clé Espace Citoyens Enfance"
    )
