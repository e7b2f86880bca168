"""Every URL of the « families » namespace that names a document answers 404 — not a login
redirect, nothing that tells the document exists — to an anonymous visitor, to an account of
another family, to an account of another commune, to an agent, and for another commune's document
under this commune's address; GET and POST, and nothing changes (no row, no file, no audit).

The patterns are collected from the root resolver, as parvis/portal/tests/test_tenancy_walk.py
does: a new document URL is walked as soon as it exists, and one this walk cannot fill fails it."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.families.models import Document
from parvis.families.tests.factories import (
    AgentFactory,
    ChildFactory,
    FamilleFactory,
    FamilyAccessFactory,
    make_document,
)
from parvis.testing.files import pdf_bytes

pytestmark = pytest.mark.django_db

BACKEND = "parvis.accounts.backends.CommuneBackend"
PIRATE_POST = {
    "label": "PIRATE",
    "famille": "1",
    "doc_type": "autre",
    "personne": "foyer",
}


def families_patterns() -> list[URLPattern]:
    found = []
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace == "families":
            found.extend(p for p in entry.url_patterns if isinstance(p, URLPattern))
    assert found
    return found


def document_patterns() -> list[URLPattern]:
    """The patterns that take a parameter: each must be a document's (<int:pk>)."""
    patterns = [p for p in families_patterns() if "<" in str(p.pattern)]
    for pattern in patterns:
        route = str(pattern.pattern).replace("<int:pk>", "1")
        assert "<" not in route, f"the documents walk cannot fill {pattern.pattern}: teach it"
    return patterns


def path_of(pattern: URLPattern, commune, document) -> str:
    return f"/{commune.slug}/" + str(pattern.pattern).replace("<int:pk>", str(document.pk))


def world(commune=None):
    famille = FamilleFactory(**({"commune": commune} if commune else {}))
    child = ChildFactory(famille=famille)
    citizen = FamilyAccessFactory(famille=famille).user
    document = make_document(
        famille=famille,
        doc_type="carnet_vaccination",
        personne=child,
        label="Secret",
        actor=citizen,
        upload=SimpleUploadedFile("secret.pdf", pdf_bytes("SECRET-CONTENT")),
    )
    validated = make_document(famille=famille, doc_type="autre", label="Secret validé",
                              status="valide", actor=citizen)  # fmt: skip
    return {"commune": famille.commune, "famille": famille, "citizen": citizen,
            "documents": [document, validated]}  # fmt: skip


def snapshot():
    files = {p: p.read_bytes() for p in Path(settings.PRIVATE_MEDIA_ROOT).rglob("*") if p.is_file()}
    rows = list(Document.objects.order_by("pk").values_list("pk", "label", "status", "file"))
    return files, rows, AuditEntry.objects.count()


def assert_nothing_leaks(response, url):
    assert response.status_code == 404, (url, response.status_code)
    body = response.content if not response.streaming else b"".join(response.streaming_content)
    assert b"SECRET" not in body and b"Secret" not in body, url


def test_the_walk_covers_every_document_action():
    names = {p.name for p in document_patterns()}
    assert {"document_telecharger", "document_renommer", "document_supprimer"} <= names


def walk(client, targets, *, django_capture_on_commit_callbacks):
    """GET and POST every document URL for each (commune, document) in `targets`."""
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        for pattern in document_patterns():
            for commune, document in targets:
                url = path_of(pattern, commune, document)
                assert_nothing_leaks(client.get(url), url)
                assert_nothing_leaks(client.post(url, PIRATE_POST), url)
    assert snapshot() == before


@pytest.fixture
def worlds():
    a = world()
    neighbour = world(commune=a["commune"])  # another family of the same commune
    b = world()  # another commune
    return a, neighbour, b


def test_an_anonymous_visitor_gets_404(client, worlds, django_capture_on_commit_callbacks):
    a, _neighbour, b = worlds
    targets = [(a["commune"], d) for d in a["documents"]]
    targets += [(b["commune"], d) for d in b["documents"]]
    walk(client, targets, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)


def test_another_family_of_the_same_commune_gets_404(
    client, worlds, django_capture_on_commit_callbacks
):
    a, neighbour, _b = worlds
    client.force_login(neighbour["citizen"], backend=BACKEND)
    walk(
        client,
        [(a["commune"], d) for d in a["documents"]],
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )


def test_an_account_of_another_commune_gets_404(client, worlds, django_capture_on_commit_callbacks):
    a, _neighbour, b = worlds
    client.force_login(b["citizen"], backend=BACKEND)
    walk(
        client,
        [(a["commune"], d) for d in a["documents"]],
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )


def test_another_communes_document_under_this_communes_address_gets_404(
    client, worlds, django_capture_on_commit_callbacks
):
    a, _neighbour, b = worlds
    client.force_login(a["citizen"], backend=BACKEND)
    # B's documents under A's address (A's own citizen), and A's own under B's address.
    targets = [(a["commune"], d) for d in b["documents"]]
    targets += [(b["commune"], d) for d in a["documents"]]
    walk(client, targets, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)


def test_an_agent_of_the_commune_gets_404_here(client, worlds, django_capture_on_commit_callbacks):
    a, _neighbour, _b = worlds
    client.force_login(AgentFactory(commune=a["commune"], roles=[AgentRole.Role.ADMINISTRATEUR]))
    walk(
        client,
        [(a["commune"], d) for d in a["documents"]],
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )


def test_a_document_id_that_is_not_there_gets_404(client, worlds):
    a, _neighbour, _b = worlds
    client.force_login(a["citizen"], backend=BACKEND)
    for pattern in document_patterns():
        route = str(pattern.pattern).replace("<int:pk>", "999999")
        assert client.get(f"/{a['commune'].slug}/{route}").status_code == 404


def test_the_owner_reaches_every_document_url(client, worlds):
    """The walk is not vacuous: the same URLs answer the family's own account."""
    a, _neighbour, _b = worlds
    client.force_login(a["citizen"], backend=BACKEND)
    for pattern in document_patterns():
        for document in a["documents"]:
            url = path_of(pattern, a["commune"], document)
            assert client.get(url).status_code == 200, url
