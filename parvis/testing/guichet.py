"""What the tests of the agents' pages share, whichever app holds those pages (the guichet shell,
`parvis/<app>/guichet/`): an agent maker, the visible text of a page, and the usual fixtures. A
tests package imports the fixtures it uses into its conftest.py."""

import re

import pytest

from parvis.accounts.models import AgentRole
from parvis.communes.tests.factories import CommuneFactory, ServiceFactory
from parvis.families.tests.factories import AgentFactory, FamilleFactory

CSP = "carrieres-sous-poissy"
CSS = "carrieres-sur-seine"


def text_of(response) -> str:
    """The visible text of a page, whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return text.replace("&#x27;", "'").replace("&quot;", '"').replace("&amp;", "&")


@pytest.fixture
def demo(demo_communes):
    """Both demo communes with their families, citizens and agents (as `make run` loads)."""
    from parvis.families import demo as families_demo

    families_demo.load()
    return demo_communes


@pytest.fixture
def commune(db):
    return CommuneFactory(name="Villebois", slug="villebois")


@pytest.fixture
def enfance_service(commune):
    return ServiceFactory(
        commune=commune, name="Périscolaire", kind="enfance", key_label="Clé Enfance"
    )


@pytest.fixture
def regie_service(commune):
    return ServiceFactory(commune=commune, name="Régie", kind="regie", key_label="Clé Régie")


@pytest.fixture
def famille(commune):
    return FamilleFactory(commune=commune, name="DURAND", number=1)


def make_agent(commune, *roles, **fields):
    return AgentFactory(commune=commune, roles=list(roles) or [AgentRole.Role.ENFANCE], **fields)


@pytest.fixture
def enfance_agent(commune):
    return make_agent(commune, AgentRole.Role.ENFANCE)


@pytest.fixture
def agent_client(client, enfance_agent):
    client.force_login(enfance_agent)
    return client
