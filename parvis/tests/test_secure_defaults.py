"""Issue 24 §1 and issue 17 §2: the development switch, the key, and the trusted proxies."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from parvis.accounts.network import TrustedProxyMiddleware, client_ip

ROOT = Path(__file__).resolve().parents[2]
SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'key': s.SECRET_KEY, 'simulator': s.PARVIS_PAYMENT_SIMULATOR, "
    "'development': s.PARVIS_DEVELOPMENT, 'cookie': getattr(s, 'SESSION_COOKIE_SECURE'), "
    "'csrf': s.CSRF_COOKIE_SECURE, 'email': s.EMAIL_BACKEND, "
    "'proxy_header': s.SECURE_PROXY_SSL_HEADER, 'hosts': s.ALLOWED_HOSTS}))"
)
STRONG_KEY = "k" * 50


def start(env_overrides: dict[str, str]):
    cleared = {
        "SECRET_KEY",
        "DEBUG",
        "DATABASE_URL",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "PARVIS_TASKS",
        "PARVIS_DEVELOPMENT",
        "ALLOWED_HOSTS",
        "PARVIS_PAYMENT_SIMULATOR",
        "EMAIL_HOST",
        "EMAIL_BACKEND",
        "PARVIS_EMAIL_DISABLED",
        "PARVIS_TRUSTED_PROXIES",
    }
    env = {k: v for k, v in os.environ.items() if k not in cleared}
    env.update(
        DJANGO_SETTINGS_MODULE="parvis.settings",
        PARVIS_VAR_DIR=str(Path(tempfile.gettempdir()) / "parvis-settings-test"),
    )
    env.update(env_overrides)
    return subprocess.run(  # noqa: S603 — our own interpreter and code
        [sys.executable, "-c", SHOW], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_debug_alone_turns_on_no_development_convenience():
    result = start(
        {
            "DEBUG": "1",
            "SECRET_KEY": STRONG_KEY,
            "ALLOWED_HOSTS": "mairie.example",
            "PARVIS_EMAIL_DISABLED": "1",
        }
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["development"] is False
    assert values["simulator"] is False
    assert values["cookie"] is True and values["csrf"] is True
    assert values["email"] != "parvis.mail.OutboxBackend"


def test_debug_alone_does_not_give_the_development_key():
    result = start({"DEBUG": "1"})
    assert result.returncode != 0
    assert "SECRET_KEY est absente ou vaut une valeur par défaut" in result.stderr


def test_the_development_switch_turns_them_all_on():
    result = start({"PARVIS_DEVELOPMENT": "1"})
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["key"] == "parvis-development-only-insecure-key"
    assert values["simulator"] is True
    assert values["cookie"] is False
    assert values["email"] == "parvis.mail.OutboxBackend"
    assert values["hosts"] == ["localhost", "127.0.0.1", "[::1]"]


def test_the_development_switch_accepts_loopback_hosts():
    hosts = "localhost,127.0.0.1,[::1],::1,127.0.0.2,app.localhost"
    result = start({"PARVIS_DEVELOPMENT": "1", "ALLOWED_HOSTS": hosts})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("public", ["*", "mairie.example", "10.0.0.5"])
def test_the_development_switch_refuses_a_public_host(public):
    result = start({"PARVIS_DEVELOPMENT": "1", "ALLOWED_HOSTS": f"localhost,{public}"})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"PARVIS_DEVELOPMENT est activé mais ALLOWED_HOSTS contient « {public} »" in (
        result.stderr
    )


def test_production_refuses_a_short_key():
    result = start({"SECRET_KEY": "a" * 49, "ALLOWED_HOSTS": "mairie.example"})
    assert result.returncode != 0
    assert "SECRET_KEY ne compte que 49 caractères" in result.stderr


def test_production_accepts_a_key_of_fifty_characters():
    result = start(
        {"SECRET_KEY": "a" * 50, "ALLOWED_HOSTS": "mairie.example", "PARVIS_EMAIL_DISABLED": "1"}
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["proxy_header"] is None


def test_production_refuses_the_development_key_even_with_debug():
    result = start({"DEBUG": "1", "SECRET_KEY": "parvis-development-only-insecure-key"})
    assert result.returncode != 0
    assert "SECRET_KEY est absente ou vaut une valeur par défaut" in result.stderr


# --- The client's address, behind trusted proxies only --------------------------------------------

factory = RequestFactory()


def request_from(remote: str, forwarded: str | None = None, proto: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    if proto is not None:
        extra["HTTP_X_FORWARDED_PROTO"] = proto
    return factory.get("/", **extra)


@override_settings(PARVIS_TRUSTED_PROXIES=[])
def test_without_trusted_proxies_forwarded_for_is_ignored():
    assert client_ip(request_from("203.0.113.7", "198.51.100.1")) == "203.0.113.7"


@override_settings(PARVIS_TRUSTED_PROXIES=["10.0.0.5"])
def test_a_spoofed_forwarded_for_from_an_untrusted_client_is_ignored():
    # The client speaks to Parvis directly and claims to be someone else.
    assert client_ip(request_from("203.0.113.7", "10.0.0.5, 198.51.100.1")) == "203.0.113.7"


@override_settings(PARVIS_TRUSTED_PROXIES=["10.0.0.5"])
def test_one_trusted_proxy_gives_the_rightmost_address():
    # The visitor wrote « 1.1.1.1 » themselves; the proxy appended the address it saw.
    request = request_from("10.0.0.5", "1.1.1.1, 198.51.100.1")
    assert client_ip(request) == "198.51.100.1"


@override_settings(PARVIS_TRUSTED_PROXIES=["10.0.0.0/24", "2001:db8::/32"])
def test_a_chain_of_two_trusted_proxies():
    # Visitor → load balancer 10.0.0.9 → nginx 10.0.0.5 → Parvis.
    request = request_from("10.0.0.5", "6.6.6.6, 198.51.100.1, 10.0.0.9")
    assert client_ip(request) == "198.51.100.1"
    request = request_from("2001:db8::5", "2001:db8::9, 2a01:e0a::1")
    assert client_ip(request) == "2a01:e0a::1"


@override_settings(PARVIS_TRUSTED_PROXIES=["10.0.0.5"])
def test_a_chain_through_an_untrusted_middle_stops_there():
    request = request_from("10.0.0.5", "198.51.100.1, 203.0.113.9")
    assert client_ip(request) == "203.0.113.9"


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("", "10.0.0.5"),
        ("unknown", "10.0.0.5"),
        ("198.51.100.1:4711", "10.0.0.5"),
        ("garbage, 198.51.100.1", "198.51.100.1"),
        ("198.51.100.1, not-an-ip", "10.0.0.5"),
        (",,, ,", "10.0.0.5"),
        ("[2a01:e0a::1]", "2a01:e0a::1"),
        ("::ffff:198.51.100.1", "198.51.100.1"),
        ("x" * 5000, "10.0.0.5"),
        ("1.2.3.4, " * 1000 + "198.51.100.1", "198.51.100.1"),
    ],
)
@override_settings(PARVIS_TRUSTED_PROXIES=["10.0.0.5"])
def test_malformed_forwarded_for_never_fails(forwarded, expected):
    assert client_ip(request_from("10.0.0.5", forwarded)) == expected


def test_a_malformed_remote_addr_is_no_address():
    assert client_ip(request_from("not-an-ip")) is None


def scheme_seen(request) -> str:
    seen = {}

    def view(req):
        seen["scheme"] = req.scheme
        return HttpResponse()

    TrustedProxyMiddleware(view)(request)
    return seen["scheme"]


@override_settings(PARVIS_TRUSTED_PROXIES=["10.0.0.5"])
def test_forwarded_proto_counts_only_from_a_trusted_proxy():
    assert scheme_seen(request_from("10.0.0.5", proto="https")) == "https"
    assert scheme_seen(request_from("203.0.113.7", proto="https")) == "http"
    assert scheme_seen(request_from("10.0.0.5", proto="http")) == "http"


@pytest.mark.django_db
@override_settings(PARVIS_TRUSTED_PROXIES=["10.0.0.5"], SECURE_SSL_REDIRECT=True)
def test_the_https_redirect_believes_only_the_trusted_proxy(client):
    # Reached directly, a claim of HTTPS is not believed: redirected to HTTPS.
    direct = client.get("/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="203.0.113.7")
    assert direct.status_code == 301
    assert direct["Location"].startswith("https://")
    proxied = client.get("/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="10.0.0.5")
    assert proxied.status_code != 301


@override_settings(PARVIS_TRUSTED_PROXIES=["not-a-network"])
def test_a_wrong_trusted_proxy_is_said_in_french():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="PARVIS_TRUSTED_PROXIES contient « not-a-"):
        client_ip(request_from("10.0.0.5", "1.2.3.4"))


# --- Every per-address limit counts the visitor, not the proxy ------------------------------------


@pytest.mark.django_db
@override_settings(PARVIS_TRUSTED_PROXIES=["10.0.0.5"])
def test_the_login_doors_count_the_visitor_behind_the_proxy(client):
    from parvis.accounts.models import Attempt
    from parvis.communes.tests.factories import CommuneFactory

    CommuneFactory(slug="villebois")
    behind = {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.1"}
    client.post("/villebois/connexion/", {"username": "x@example.fr", "password": "y"}, **behind)
    client.post("/villebois/guichet/connexion/", {"username": "x", "password": "y"}, **behind)
    spoofed = {"REMOTE_ADDR": "203.0.113.7", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}
    client.post("/villebois/connexion/", {"username": "x@example.fr", "password": "y"}, **spoofed)
    assert list(Attempt.objects.order_by("pk").values_list("kind", "ip")) == [
        (Attempt.Kind.LOGIN, "198.51.100.1"),
        (Attempt.Kind.AGENT_LOGIN, "198.51.100.1"),
        (Attempt.Kind.LOGIN, "203.0.113.7"),
    ]


@pytest.mark.django_db
@override_settings(PARVIS_TRUSTED_PROXIES=["10.0.0.5"])
def test_a_malformed_forwarded_for_never_gives_a_server_error(client):
    from parvis.accounts.models import Attempt
    from parvis.communes.tests.factories import CommuneFactory

    CommuneFactory(slug="villebois")
    for forwarded in ("unknown", "1.2.3.4:80, [::1", "\x00, 300.1.1.1", "x" * 10_000):
        response = client.post(
            "/villebois/connexion/",
            {"username": "x@example.fr", "password": "y"},
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR=forwarded,
        )
        assert response.status_code == 200
    # The proxy's own address is all that is known: it is the one counted.
    assert set(Attempt.objects.values_list("ip", flat=True)) == {"10.0.0.5"}


def test_the_test_settings_leave_no_temporary_directory_behind():
    code = (
        "from parvis import settings_test as s; "
        "print(s.TEST_TMP_DIR, s.PRIVATE_MEDIA_ROOT, s.DATABASES['default']['TEST']['NAME'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY"}}
    result = subprocess.run(  # noqa: S603 — our own interpreter and code
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    tmp, private, database = (Path(part) for part in result.stdout.split())
    # One directory holds the private files and the SQLite test database…
    assert private.parent == tmp and database.parent == tmp
    # …and it is gone once the process has ended.
    assert not tmp.exists()


def test_a_trusted_proxy_that_is_no_address_stops_start_up():
    result = start({"PARVIS_DEVELOPMENT": "1", "PARVIS_TRUSTED_PROXIES": "10.0.0.5, nginx"})
    assert result.returncode != 0
    assert "PARVIS_TRUSTED_PROXIES contient « nginx », qui n'est ni une adresse IP" in (
        result.stderr
    )
    assert (
        start({"PARVIS_DEVELOPMENT": "1", "PARVIS_TRUSTED_PROXIES": "10.0.0.0/8,::1"}).returncode
        == 0
    )
