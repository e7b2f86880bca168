"""Households and service keys: numbering, key secrecy, redemption rules, code famille."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from parvis.accounts.models import Attempt, AuditEntry
from parvis.accounts.services import KEY_MAX_FAILURES, LOCK_DURATION, attempt_login
from parvis.communes.tests.factories import CommuneFactory, ServiceFactory
from parvis.families import services
from parvis.families.models import FamilyAccess, ServiceKey
from parvis.families.tests.factories import (
    AgentFactory,
    CitizenFactory,
    FamilleFactory,
    PersonneFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting():
    commune = CommuneFactory(login_with_family_code=True)
    return {
        "commune": commune,
        "service": ServiceFactory(
            commune=commune, kind="enfance", key_label="Clé Espace Citoyens Enfance"
        ),
        "agent": AgentFactory(commune=commune),
        "famille": FamilleFactory(commune=commune),
    }


def test_families_are_numbered_per_commune_without_gaps(setting):
    agent, commune = setting["agent"], setting["commune"]
    start = setting["famille"].number
    created = [
        services.create_famille(commune=commune, actor=agent, name=f"F{i}") for i in range(3)
    ]
    assert [f.number for f in created] == [start + 1, start + 2, start + 3]
    other = CommuneFactory()
    first_elsewhere = services.create_famille(
        commune=other, actor=AgentFactory(commune=other), name="X"
    )
    assert first_elsewhere.number == 1
    assert created[0].reference == f"F{start + 1:06d}"
    assert AuditEntry.objects.filter(action="famille.create", famille_id=created[0].pk).count() == 1


def test_a_generated_key_is_long_unambiguous_shown_once_and_stored_as_a_digest(setting):
    service_key, shown = services.generate_service_key(
        famille=setting["famille"],
        service=setting["service"],
        actor=setting["agent"],
        send_to="p@example.fr",
    )
    raw = shown.replace("-", "")
    assert len(raw) == 16 and set(raw) <= set(services.KEY_ALPHABET)
    assert not set(raw) & set("ILOU")
    assert service_key.digest == services.key_digest(raw)
    stored = ServiceKey.objects.filter(pk=service_key.pk).values().get()
    assert raw not in str(stored) and shown not in str(stored)
    # The family gets it by e-mail (on commit), with the sign-up address.
    assert len(mail.outbox) == 0  # not before the transaction commits


@pytest.mark.django_db(transaction=True)
def test_the_key_is_emailed_after_commit(setting):
    _key, shown = services.generate_service_key(
        famille=setting["famille"],
        service=setting["service"],
        actor=setting["agent"],
        send_to="p@example.fr",
    )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["p@example.fr"]
    assert shown in mail.outbox[0].body
    assert "Clé Espace Citoyens Enfance" in mail.outbox[0].subject


@given(st.text(alphabet=services.KEY_ALPHABET, min_size=16, max_size=16))
def test_typing_forgives_case_spaces_dashes_and_look_alike_letters(key):
    variants = [
        key.lower(),
        services.format_key(key),
        " ".join(key[i : i + 4] for i in range(0, 16, 4)),
        key.replace("0", "O").replace("1", "I"),
        key.replace("1", "l"),
    ]
    for typed in variants:
        assert services.key_digest(typed) == services.key_digest(key)


def test_a_key_links_the_family_once(setting):
    service_key, shown = services.generate_service_key(
        famille=setting["famille"], service=setting["service"], actor=setting["agent"]
    )
    parent = CitizenFactory(commune=setting["commune"])
    redeemed = services.redeem_service_key(user=parent, raw_key=shown.lower())
    assert redeemed.access.famille == setting["famille"]
    assert redeemed.access.key == service_key
    service_key.refresh_from_db()
    assert service_key.used_by == parent and service_key.used_at is not None
    second_parent = CitizenFactory(commune=setting["commune"])
    with pytest.raises(services.KeyRefused, match="déjà été utilisée"):
        services.redeem_service_key(user=second_parent, raw_key=shown)
    assert not FamilyAccess.objects.filter(user=second_parent).exists()


def test_two_parents_each_with_their_own_key_share_the_family(setting):
    parents = [CitizenFactory(commune=setting["commune"]) for _ in range(2)]
    for parent in parents:
        _key, shown = services.generate_service_key(
            famille=setting["famille"], service=setting["service"], actor=setting["agent"]
        )
        services.redeem_service_key(user=parent, raw_key=shown)
    assert set(setting["famille"].accesses.values_list("user", flat=True)) == {
        p.pk for p in parents
    }


def test_a_key_of_another_commune_or_revoked_is_refused(setting):
    _key, shown = services.generate_service_key(
        famille=setting["famille"], service=setting["service"], actor=setting["agent"]
    )
    stranger = CitizenFactory(commune=CommuneFactory())
    with pytest.raises(services.KeyRefused, match="pas reconnue"):
        services.redeem_service_key(user=stranger, raw_key=shown)
    revoked, shown2 = services.generate_service_key(
        famille=setting["famille"], service=setting["service"], actor=setting["agent"]
    )
    services.revoke_service_key(service_key=revoked, actor=setting["agent"])
    with pytest.raises(services.KeyRefused, match="plus valable"):
        services.redeem_service_key(user=CitizenFactory(commune=setting["commune"]), raw_key=shown2)


def test_wrong_keys_are_throttled_per_account_and_counted_even_though_refused(setting):
    _key, shown = services.generate_service_key(
        famille=setting["famille"], service=setting["service"], actor=setting["agent"]
    )
    parent = CitizenFactory(commune=setting["commune"])
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(KEY_MAX_FAILURES):
            with pytest.raises(services.KeyRefused):
                services.redeem_service_key(user=parent, raw_key="0000-0000-0000-0000")
        assert (
            Attempt.objects.filter(kind="service_key", succeeded=False).count() == KEY_MAX_FAILURES
        )
        # Now even the right key waits.
        with pytest.raises(services.KeyRefused) as refused:
            services.redeem_service_key(user=parent, raw_key=shown)
        assert refused.value.locked_until == start + LOCK_DURATION
    with (
        time_machine.travel(start + LOCK_DURATION - timedelta(minutes=1), tick=False),
        pytest.raises(services.KeyRefused),
    ):
        services.redeem_service_key(user=parent, raw_key=shown)
    with time_machine.travel(start + LOCK_DURATION, tick=False):
        assert services.redeem_service_key(user=parent, raw_key=shown).access.user == parent


def test_code_famille_credentials_log_in_and_ask_for_a_new_password(setting, rf):
    famille = setting["famille"]
    PersonneFactory(famille=famille, first_names="Sophie", civility="mme")
    credentials = services.create_family_code_credentials(famille=famille, actor=setting["agent"])
    assert credentials.family_code == famille.reference
    assert credentials.user.must_choose_password
    assert FamilyAccess.objects.filter(famille=famille, user=credentials.user).exists()
    request = rf.post("/")
    result = attempt_login(
        request=request,
        commune=setting["commune"],
        identifier=famille.reference.lower(),
        password=credentials.temporary_password,
    )
    assert result.user == credentials.user
    # Issued again (lost letter): a new temporary password, the old one stops working.
    again = services.create_family_code_credentials(famille=famille, actor=setting["agent"])
    assert again.user == credentials.user
    assert not again.user.check_password(credentials.temporary_password)
    assert AuditEntry.objects.filter(action="family_code.issue", famille_id=famille.pk).count() == 2


def test_member_changes_are_audited_with_old_and_new_values(setting):
    personne = PersonneFactory(famille=setting["famille"], phone="01 00 00 00 00")
    services.update_member(personne=personne, actor=setting["agent"], phone="06 11 22 33 44")
    entry = AuditEntry.objects.get(action="personne.update")
    assert entry.changes == {"phone": ["01 00 00 00 00", "06 11 22 33 44"]}
    assert entry.famille_id == setting["famille"].pk
    assert entry.actor == setting["agent"]
