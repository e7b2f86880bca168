"""The CSRF-exempt notification endpoint (issue 24 §1): an unsigned body is kept as a bounded
excerpt, unsigned notifications are throttled per client address (counted in the database), and a
body larger than any bank's is refused unread."""

from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from parvis.accounts import services_notifications as accounts
from parvis.accounts.models import Attempt
from parvis.payments import services
from parvis.payments.models import Exchange

pytestmark = pytest.mark.django_db

LIMIT = accounts.NOTIFICATION_MAX_UNSIGNED


def notification_url(world, provider="simulateur"):
    return reverse(
        "payments:notification", kwargs={"commune": world.commune.slug, "provider": provider}
    )


def forged(client, world, body=b"reference=NOPE&signature=bad", **extra):
    return client.post(
        notification_url(world), data=body, content_type="application/octet-stream", **extra
    )


def test_an_unsigned_body_is_kept_as_a_bounded_excerpt(client, world):
    body = b"x" * 50_000
    response = forged(client, world, body)
    assert response.status_code == 400
    exchange = Exchange.objects.get()
    assert exchange.verified is False
    assert exchange.payload.startswith("x" * services.UNSIGNED_EXCERPT_BYTES + "\n[…")
    assert "50000 octets reçus, seuls les 4096 premiers sont gardés" in exchange.payload
    assert len(exchange.payload) < services.UNSIGNED_EXCERPT_BYTES + 100


def test_an_unsigned_body_of_exactly_the_excerpt_is_kept_whole(world):
    body = b"y" * services.UNSIGNED_EXCERPT_BYTES
    services.handle_notification(
        commune=world.commune, provider="simulateur", query_string="", body=body, remote_addr=None
    )
    assert Exchange.objects.get().payload == "y" * services.UNSIGNED_EXCERPT_BYTES


def test_unsigned_notifications_are_throttled_per_address(client, world):
    for _ in range(LIMIT):
        assert forged(client, world, REMOTE_ADDR="203.0.113.7").status_code == 400
    refused = forged(client, world, REMOTE_ADDR="203.0.113.7")
    assert refused.status_code == 429
    # Refused unread and unlogged: the log holds LIMIT rows, no more.
    assert Exchange.objects.count() == LIMIT
    # Another address is not throttled by the first one's forgeries.
    assert forged(client, world, REMOTE_ADDR="203.0.113.8").status_code == 400
    # The counter is the database's (Attempt rows), shared by every app server.
    assert Attempt.objects.filter(kind=Attempt.Kind.NOTIFICATION, ip="203.0.113.7").count() == (
        LIMIT
    )


def test_the_throttle_ends_with_its_window(client, world):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(LIMIT):
            forged(client, world, REMOTE_ADDR="203.0.113.7")
    edge = start + accounts.NOTIFICATION_WINDOW
    with time_machine.travel(edge - timedelta(seconds=1), tick=False):
        assert forged(client, world, REMOTE_ADDR="203.0.113.7").status_code == 429
    with time_machine.travel(edge + timedelta(seconds=1), tick=False):
        assert forged(client, world, REMOTE_ADDR="203.0.113.7").status_code == 400


@override_settings(PARVIS_TRUSTED_PROXIES=["10.0.0.5"])
def test_the_throttle_counts_the_visitor_behind_the_proxy(client, world):
    for _ in range(LIMIT):
        forged(client, world, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.7")
    behind = {"REMOTE_ADDR": "10.0.0.5"}
    assert forged(client, world, HTTP_X_FORWARDED_FOR="203.0.113.7", **behind).status_code == 429
    # Another visitor through the same proxy is not refused.
    assert forged(client, world, HTTP_X_FORWARDED_FOR="203.0.113.8", **behind).status_code == 400


def test_the_limit_at_its_edge(world):
    assert not accounts.unsigned_notifications_throttled(commune=world.commune, ip="192.0.2.1")
    for _ in range(LIMIT - 1):
        accounts.record_unsigned_notification(commune=world.commune, ip="192.0.2.1")
    assert not accounts.unsigned_notifications_throttled(commune=world.commune, ip="192.0.2.1")
    accounts.record_unsigned_notification(commune=world.commune, ip="192.0.2.1")
    assert accounts.unsigned_notifications_throttled(commune=world.commune, ip="192.0.2.1")


def test_a_body_larger_than_any_banks_is_refused_unread(client, world):
    response = forged(client, world, b"z" * (64 * 1024 + 1))
    assert response.status_code == 413
    assert not Exchange.objects.exists()
    assert forged(client, world, b"z" * (64 * 1024)).status_code == 400
