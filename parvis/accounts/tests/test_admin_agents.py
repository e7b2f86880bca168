"""A commune's administrators manage their agents and roles in the admin, and nobody else's."""

import pytest
from django.urls import reverse

from parvis.accounts.models import AgentRole, User
from parvis.communes.tests.factories import CommuneAdminFactory, CommuneFactory
from parvis.communes.tests.test_admin import add_inline_row, form_data
from parvis.families.tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:accounts_agent_add")
LIST = reverse("admin:accounts_agent_changelist")


def change_url(agent):
    return reverse("admin:accounts_agent_change", args=[agent.pk])


@pytest.fixture
def admin_a(client):
    admin = CommuneAdminFactory()
    client.force_login(admin)
    return admin


def test_an_administrator_creates_an_agent_of_their_commune_with_a_role(client, admin_a):
    other = CommuneFactory()
    data = form_data(client.get(ADD))
    data.update(
        username="nouvel-agent",
        first_name="Nina",
        last_name="LEGRAND",
        email="nina@mairie.fr",
        password1="un-mot-de-passe-solide-42",
        password2="un-mot-de-passe-solide-42",
        usable_password="true",
        # What a forged form might add: ignored, the fields are not on the form.
        is_superuser="on",
        commune=str(other.pk),
    )
    data["agent_roles-0-role"] = AgentRole.Role.REGIE
    response = client.post(ADD, data)
    assert response.status_code == 302, response.context and [
        (f.name, f.errors) for f in response.context["adminform"].form if f.errors
    ] + [fs.formset.errors for fs in response.context["inline_admin_formsets"]]
    agent = User.objects.get(username="nouvel-agent")
    assert agent.commune == admin_a.commune
    assert agent.is_staff and not agent.is_superuser
    assert agent.check_password("un-mot-de-passe-solide-42")
    role = agent.agent_roles.get()
    assert (role.role, role.commune) == (AgentRole.Role.REGIE, admin_a.commune)


def test_another_communes_agents_are_out_of_reach(client, admin_a):
    own = AgentFactory(commune=admin_a.commune, last_name="MAISON")
    stranger = AgentFactory(last_name="AILLEURS")
    listing = client.get(LIST).content.decode()
    assert "MAISON" in listing and "AILLEURS" not in listing
    assert client.get(change_url(stranger)).status_code == 302  # « n'existe pas », back to index
    assert client.get(f"/admin/accounts/agent/{stranger.pk}/password/").status_code == 404
    before = User.objects.get(pk=stranger.pk).password
    client.post(
        f"/admin/accounts/agent/{stranger.pk}/password/",
        {"password1": "x" * 20, "password2": "x" * 20},
    )
    assert User.objects.get(pk=stranger.pk).password == before
    assert client.get(change_url(own)).status_code == 200


def test_citizens_and_the_operator_are_not_agents(client, admin_a):
    from parvis.communes.tests.factories import OperatorFactory
    from parvis.families.tests.factories import CitizenFactory

    citizen = CitizenFactory(commune=admin_a.commune, last_name="CITOYENNE")
    OperatorFactory(last_name="OPERATRICE")
    listing = client.get(LIST).content.decode()
    assert "CITOYENNE" not in listing and "OPERATRICE" not in listing
    assert client.get(change_url(citizen)).status_code == 302


def test_the_role_inline_offers_the_guichet_roles(client, admin_a):
    agent = AgentFactory(commune=admin_a.commune, roles=[AgentRole.Role.ENFANCE])
    data = form_data(client.get(change_url(agent)))
    add_inline_row(data, "agent_roles", role=AgentRole.Role.ETAT_CIVIL)
    assert client.post(change_url(agent), data).status_code == 302
    assert set(agent.agent_roles.values_list("role", flat=True)) == {"enfance", "etat_civil"}
    assert set(agent.agent_roles.values_list("commune", flat=True)) == {admin_a.commune_id}


def test_the_audit_log_is_read_only_and_scoped(client, admin_a):
    from parvis.accounts.services import audit

    audit(actor=admin_a, action="famille.create", commune=admin_a.commune)
    audit(actor=None, action="secret.action", commune=CommuneFactory())
    page = client.get(reverse("admin:accounts_auditentry_changelist")).content.decode()
    assert "Création du dossier" in page and "secret.action" not in page
    assert client.get(reverse("admin:accounts_auditentry_add")).status_code == 403
