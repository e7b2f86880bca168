"""Issue 23 §2: passwords hashed with Argon2id at OWASP's minimum (19 MiB, 2 passes, 1 lane);
a hash made with Django's default parameters is rewritten at the next login; an unknown
identifier costs one hash, as a known one does (counted, not timed); the tests keep a fast
hasher."""

import pytest
from django.conf import settings
from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    MD5PasswordHasher,
    identify_hasher,
    make_password,
)
from django.test import RequestFactory, override_settings

from parvis.accounts import services
from parvis.accounts.hashers import ParvisArgon2PasswordHasher, login_cost
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import PASSWORD, CitizenFactory

pytestmark = pytest.mark.django_db

PARVIS = ["parvis.accounts.hashers.ParvisArgon2PasswordHasher"]


class CountingHasher(MD5PasswordHasher):
    """Counts the passwords it hashes (a check hashes the password given, as a set does)."""

    hashed = 0

    def encode(self, password, salt):
        CountingHasher.hashed += 1
        return super().encode(password, salt)


def test_the_parameters_are_owasps_minimum_argon2id():
    hasher = ParvisArgon2PasswordHasher()
    parameters = hasher.params()
    assert (parameters.type.name, parameters.memory_cost, parameters.time_cost) == ("ID", 19456, 2)
    assert parameters.parallelism == 1
    encoded = hasher.encode("une phrase de passe", hasher.salt())
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")


def test_the_tests_keep_a_fast_hasher():
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]


@override_settings(PASSWORD_HASHERS=PARVIS)
def test_a_hash_with_djangos_default_parameters_is_rewritten_at_the_next_login():
    user = CitizenFactory()
    old = Argon2PasswordHasher()
    user.password = old.encode(PASSWORD, old.salt())
    user.save(update_fields=["password"])
    assert "$m=102400,t=2,p=8$" in user.password

    assert not user.check_password("pas-le-bon-mot-de-passe")
    user.refresh_from_db()
    assert "$m=102400,t=2,p=8$" in user.password  # a wrong password changes nothing

    assert user.check_password(PASSWORD)
    user.refresh_from_db()
    assert "$m=19456,t=2,p=1$" in user.password
    assert isinstance(identify_hasher(user.password), ParvisArgon2PasswordHasher)
    assert user.check_password(PASSWORD)


@override_settings(PASSWORD_HASHERS=[*PARVIS, "django.contrib.auth.hashers.PBKDF2PasswordHasher"])
def test_a_pbkdf2_hash_is_rewritten_with_argon2id_at_the_next_login():
    user = CitizenFactory()
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    assert user.check_password(PASSWORD)
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")


@override_settings(PASSWORD_HASHERS=["parvis.accounts.tests.test_hashers.CountingHasher"])
@pytest.mark.parametrize(
    ("known", "right"),
    [(True, True), (True, False), (False, False)],
    ids=["right", "wrong", "unknown"],
)
def test_an_unknown_identifier_costs_one_hash_as_a_known_one_does(known, right):
    commune = CommuneFactory()
    user = CitizenFactory(commune=commune)
    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.1")
    CountingHasher.hashed = 0

    result = services.attempt_login(
        request=request,
        commune=commune,
        identifier=user.email if known else "personne@example.org",
        password=PASSWORD if right else "pas-le-bon-mot-de-passe",
    )

    assert (result.user == user) is right
    assert CountingHasher.hashed == 1


@override_settings(PASSWORD_HASHERS=PARVIS)
def test_the_login_cost_the_benchmark_prints():
    cost = login_cost(rounds=1)
    assert cost["memory_mib"] == 19
    assert 0 < cost["cpu_ms"] < 2000
