"""The demo households and logins the README documents work as documented."""

import pytest

from parvis.accounts.models import AgentRole, User
from parvis.accounts.services import attempt_login
from parvis.communes.demo import DEMO_PASSWORD
from parvis.families import demo
from parvis.families.models import SchoolLevel
from parvis.families.services import redeem_service_key


@pytest.fixture
def loaded(demo_communes):
    demo.load()
    return demo_communes


def login(rf, commune, identifier, password):
    return attempt_login(
        request=rf.post("/"), commune=commune, identifier=identifier, password=password
    )


def test_francoise_durand_logs_in_and_has_her_family(loaded, rf):
    result = login(rf, loaded["carrieres-sous-poissy"], demo.CITIZEN_EMAIL, DEMO_PASSWORD)
    user = result.user
    assert user is not None and user.greeting_name == "Madame DURAND"
    assert user.previous_login is not None
    famille = user.family_accesses.get().famille
    children = famille.members.filter(kind="enfant")
    assert {c.level for c in children} == {SchoolLevel.MATERNELLE, SchoolLevel.ELEMENTAIRE}
    assert {c.school for c in children} == {"Ecole du PARC"}


def test_the_documented_unused_key_links_the_leroy_family(loaded):
    commune = loaded["carrieres-sous-poissy"]
    newcomer = User.objects.create(commune=commune, username="csp/new", email="new@example.fr")
    redeemed = redeem_service_key(user=newcomer, raw_key=demo.UNUSED_KEY)
    assert redeemed.access.famille.name == "LEROY"
    assert redeemed.service.key_label == "Clé Espace Citoyens Enfance"


def test_code_famille_logins_of_carrieres_sur_seine(loaded, rf):
    commune = loaded["carrieres-sur-seine"]
    ready = login(rf, commune, demo.FAMILY_CODE_READY, DEMO_PASSWORD).user
    assert ready is not None and not ready.must_choose_password
    first = login(rf, commune, demo.FAMILY_CODE_FIRST_LOGIN, demo.FIRST_LOGIN_PASSWORD).user
    assert first is not None and first.must_choose_password
    # E-mail login is not offered there.
    assert login(rf, commune, "sophie.martin@example.fr", DEMO_PASSWORD).user is None


def test_an_agent_per_role(loaded):
    roles = set(
        AgentRole.objects.filter(commune=loaded["carrieres-sous-poissy"]).values_list(
            "role", flat=True
        )
    )
    assert roles == set(AgentRole.Role.values)
    for _slug, username, _role in demo.AGENTS:
        assert User.objects.get(username=username).check_password(DEMO_PASSWORD)
