"""Issue 20 §1 gap: an account created with FranceConnect has no usable password. « Modification
de votre espace » lets it choose a first password without asking the current one it does not
have, and « Supprimer mon espace » asks it to type « SUPPRIMER » instead of a password; French
errors with the site's pattern (« Erreur : » title, summary, aria-invalid, message at the field).
An account with a password still gives it (the other tests of accounts/tests/test_espace.py)."""

from __future__ import annotations

import re

import pytest
from django.contrib import auth
from django.test import Client
from django.urls import reverse

from parvis.accounts.models import AuditEntry, User
from parvis.families.models import FamilyAccess
from parvis.families.tests.factories import CitizenFactory, FamilyAccessFactory

pytestmark = pytest.mark.django_db

BACKEND = "parvis.accounts.backends.CommuneBackend"
NEW_PASSWORD = "Un-premier-mot-de-passe-2026"


def url(name: str, user) -> str:
    return reverse(f"accounts:{name}", kwargs={"commune": user.commune.slug})


def text_of(response) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").replace("&quot;", '"')
    return re.sub(r"\s+", " ", text)


def title_of(response) -> str:
    return re.search(r"<title>(.*?)</title>", response.text, flags=re.S).group(1)


def input_tag(response, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', response.text)
    assert match, f"no field {name}"
    return match.group(0)


@pytest.fixture
def franceconnected():
    """A citizen account as FranceConnect creates it: no usable password, linked to a family."""
    user = CitizenFactory()
    user.set_unusable_password()
    user.save(update_fields=["password"])
    FamilyAccessFactory(user=user, famille__commune=user.commune)
    return user


@pytest.fixture
def client_fc(client, franceconnected):
    client.force_login(franceconnected, backend=BACKEND)
    return client


def first_password(new1=NEW_PASSWORD, new2=NEW_PASSWORD) -> dict:
    return {"section": "authentification", "mdp-new_password1": new1, "mdp-new_password2": new2}


# --- A first password -------------------------------------------------------------------------


def test_the_page_offers_a_first_password_without_the_current_one(client_fc):
    response = client_fc.get(url("modifier_espace", _user(client_fc)))
    assert response.status_code == 200
    text = text_of(response)
    assert "Votre espace n'a pas de mot de passe" in text
    assert "Choisir mon mot de passe" in text
    assert 'name="mdp-old_password"' not in response.text
    assert 'name="mdp-new_password1"' in response.text


def _user(client) -> User:
    return User.objects.get(pk=client.session["_auth_user_id"])


def test_a_first_password_is_set_and_opens_the_login_with_the_identifier(
    franceconnected, client_fc
):
    elsewhere = Client()
    elsewhere.force_login(franceconnected, backend=BACKEND)
    response = client_fc.post(url("modifier_espace", franceconnected), first_password())
    assert response.status_code == 302
    franceconnected.refresh_from_db()
    assert franceconnected.has_usable_password()
    assert franceconnected.check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(action="account.set_password", actor=franceconnected).exists()
    assert "Votre mot de passe est enregistré" in text_of(client_fc.get(response["Location"]))
    assert (
        auth.authenticate(
            None,
            commune=franceconnected.commune,
            identifier=franceconnected.email,
            password=NEW_PASSWORD,
        )
        == franceconnected
    )
    # This session stays, the others end; from now on the form asks the current password.
    page = client_fc.get(url("modifier_espace", franceconnected))
    assert 'name="mdp-old_password"' in page.text
    assert "Changer mon mot de passe" in text_of(page)
    assert elsewhere.get(url("mes_informations", franceconnected)).status_code == 302


def test_a_first_password_is_checked_as_everywhere_with_french_errors(franceconnected, client_fc):
    response = client_fc.post(
        url("modifier_espace", franceconnected), first_password("1234", "1234")
    )
    assert response.status_code == 200
    text = text_of(response)
    assert "Erreur :" in title_of(response)
    assert "Le formulaire n'a pas pu être envoyé" in text
    assert "trop court" in text
    assert "mot de passe actuel" not in text  # never asked of an account without one
    assert 'aria-invalid="true"' in input_tag(response, "mdp-new_password1")
    response = client_fc.post(
        url("modifier_espace", franceconnected), first_password(new2="Un-autre-mot-2026-x")
    )
    assert "Les deux mots de passe ne sont pas identiques." in text_of(response)
    response = client_fc.post(url("modifier_espace", franceconnected), first_password("", ""))
    assert "Choisissez un mot de passe." in text_of(response)
    franceconnected.refresh_from_db()
    assert not franceconnected.has_usable_password()


# --- Deletion -----------------------------------------------------------------------------------


def test_deletion_asks_a_typed_confirmation_not_a_password(franceconnected, client_fc):
    page = client_fc.get(url("supprimer_espace", franceconnected))
    assert 'name="suppression-password"' not in page.text
    assert 'name="suppression-confirmation"' in page.text
    assert "Saisissez SUPPRIMER pour confirmer la suppression." in text_of(page)
    for typed, error in (
        ("", "Saisissez SUPPRIMER pour confirmer."),
        ("supprimé", "Saisissez exactement SUPPRIMER pour confirmer la suppression."),
        ("oui", "Saisissez exactement SUPPRIMER pour confirmer la suppression."),
    ):
        response = client_fc.post(
            url("supprimer_espace", franceconnected), {"suppression-confirmation": typed}
        )
        assert response.status_code == 200
        text = text_of(response)
        assert error in text
        assert "Le formulaire n'a pas pu être envoyé" in text
        assert "Erreur :" in title_of(response)
        tag = input_tag(response, "suppression-confirmation")
        assert 'aria-invalid="true"' in tag
        if typed:
            assert f'value="{typed}"' in tag
    assert User.objects.filter(pk=franceconnected.pk).exists()


def test_typing_supprimer_deletes_the_account(franceconnected, client_fc):
    response = client_fc.post(
        url("supprimer_espace", franceconnected), {"suppression-confirmation": " supprimer "}
    )
    assert response.status_code == 302
    assert not User.objects.filter(pk=franceconnected.pk).exists()
    assert not FamilyAccess.objects.filter(user_id=franceconnected.pk).exists()
    assert AuditEntry.objects.filter(action="account.delete").exists()


def test_an_account_with_a_password_still_gives_it(client):
    user = CitizenFactory()
    client.force_login(user, backend=BACKEND)
    response = client.post(url("supprimer_espace", user), {"suppression-confirmation": "SUPPRIMER"})
    assert response.status_code == 200
    assert User.objects.filter(pk=user.pk).exists()
    assert 'name="suppression-password"' in response.text
    page = client.get(url("modifier_espace", user))
    assert 'name="mdp-old_password"' in page.text


def test_an_email_change_asks_to_choose_a_password_first(franceconnected, client_fc):
    response = client_fc.post(
        url("modifier_espace", franceconnected),
        {
            "section": "courriel",
            "courriel-new_email": "nouvelle@example.fr",
            "courriel-password": "",
        },
    )
    assert response.status_code == 200
    text = text_of(response)
    assert "Votre espace n'a pas encore de mot de passe : choisissez-en un" in text
    assert "Indiquez votre mot de passe actuel." not in text
    assert 'aria-invalid="true"' in input_tag(response, "courriel-password")
    franceconnected.refresh_from_db()
    assert franceconnected.pending_email == ""
