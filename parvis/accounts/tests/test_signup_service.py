"""Sign-up under abuse: an inbox is not flooded, a race on one address makes one account."""

from unittest import mock

import pytest

from parvis.accounts import services
from parvis.accounts.models import User
from parvis.families.tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db


def sign_up(commune, email="francoise@example.fr"):
    return services.create_citizen_account(
        commune=commune, email=email, password="un-mot-de-passe-solide-42", civility="mme",
        first_name="Françoise", last_name="DURAND", ip="203.0.113.7",
    )  # fmt: skip


def test_signing_up_again_and_again_sends_at_most_three_account_exists_emails(
    mailoutbox, django_capture_on_commit_callbacks
):
    owner = CitizenFactory(email="francoise@example.fr")
    with django_capture_on_commit_callbacks(execute=True):
        results = [sign_up(owner.commune, "Francoise@Example.fr") for _ in range(6)]
    assert results == [None] * 6
    assert User.objects.filter(email__iexact="francoise@example.fr").count() == 1
    assert len(mailoutbox) == services.ACCOUNT_EXISTS_MAX_EMAILS
    assert all(message.to == ["francoise@example.fr"] for message in mailoutbox)


def test_two_sign_ups_racing_on_one_address_make_one_account(
    mailoutbox, django_capture_on_commit_callbacks
):
    winner = CitizenFactory(email="francoise@example.fr")
    real_filter = User.objects.filter
    calls = {"n": 0}

    def filter_missing_the_winner_once(*args, **kwargs):
        # The first existence check ran before the other request committed its account.
        calls["n"] += 1
        if calls["n"] == 1:
            return real_filter(pk=-1)
        return real_filter(*args, **kwargs)

    with (
        mock.patch.object(User.objects, "filter", side_effect=filter_missing_the_winner_once),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sign_up(winner.commune) is None  # not a 500: the same answer as a known address
    assert User.objects.filter(email="francoise@example.fr").count() == 1
    assert [m.to for m in mailoutbox] == [["francoise@example.fr"]]
    assert "déjà un espace" in mailoutbox[0].subject


def test_an_email_change_is_announced_to_the_current_address(
    mailoutbox, django_capture_on_commit_callbacks
):
    user = CitizenFactory(email="ancienne@example.fr")
    with django_capture_on_commit_callbacks(execute=True):
        services.request_email_change(user=user, new_email="Nouvelle@Example.fr")
    by_address = {tuple(m.to): m for m in mailoutbox}
    assert set(by_address) == {("nouvelle@example.fr",), ("ancienne@example.fr",)}
    notice = by_address[("ancienne@example.fr",)]
    assert "nouvelle@example.fr" in notice.body
    assert "/mot-de-passe-oublie/" in notice.body
    user.refresh_from_db()
    assert (user.email, user.pending_email) == ("ancienne@example.fr", "nouvelle@example.fr")
