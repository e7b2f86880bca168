"""The administrative file's list in the admin, tried from the outside as in
parvis/communes/tests/test_admin.py: a commune's administrator lists their commune's lines by
school year, filters by year and service, chooses only their commune's services, never sees,
opens, changes or creates another commune's line, and copies a year's list to the next one
(« Reprendre pour l'année suivante »), each copy logged; the operator sees every commune's."""

from types import SimpleNamespace

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.urls import reverse

from parvis.communes.tests.factories import (
    CommuneAdminFactory,
    CommuneFactory,
    OperatorFactory,
    ServiceFactory,
)
from parvis.communes.tests.test_admin import form_data
from parvis.families.models import DocumentType, Provider, RequiredDocument

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:families_requireddocument_changelist"
ADD = "admin:families_requireddocument_add"
INVALID_CHOICE = "Sélectionnez un choix valide"
ACTION = "copy_to_next_year"


def change_url(line):
    return reverse("admin:families_requireddocument_change", args=[line.pk])


def delete_url(line):
    return reverse("admin:families_requireddocument_delete", args=[line.pk])


def page(response) -> str:
    return response.content.decode()


def assert_not_found(response):
    assert response.status_code == 302
    assert response.url == reverse("admin:index")


def commune_with_file(tag: str) -> SimpleNamespace:
    commune = CommuneFactory(name=f"Ville{tag}", slug=f"ville-{tag.lower()}")
    enfance = ServiceFactory(commune=commune, name=f"Enfance{tag}", kind="enfance")
    scolaire = ServiceFactory(commune=commune, name=f"Scolaire{tag}", kind="scolaire")
    lines = [
        RequiredDocument.objects.create(
            commune=commune,
            school_year=2025,
            service=enfance,
            doc_type=DocumentType.AVIS_IMPOSITION,
            help_text=f"Avis{tag}2025",
            position=1,
        ),
        RequiredDocument.objects.create(
            commune=commune,
            school_year=2026,
            service=enfance,
            doc_type=DocumentType.AVIS_IMPOSITION,
            help_text=f"Avis{tag}2026",
            position=1,
        ),
        RequiredDocument.objects.create(
            commune=commune,
            school_year=2026,
            service=scolaire,
            doc_type=DocumentType.ATTESTATION_ASSURANCE,
            provider=Provider.ENFANT,
            help_text=f"Assurance{tag}2026",
            position=2,
        ),
    ]
    return SimpleNamespace(
        commune=commune,
        enfance=enfance,
        scolaire=scolaire,
        lines=lines,
        markers=[f"Ville{tag}", f"Enfance{tag}", f"Scolaire{tag}", f"Avis{tag}", f"Assurance{tag}"],
    )


@pytest.fixture
def a():
    return commune_with_file("Alpha")


@pytest.fixture
def b():
    return commune_with_file("Beta")


@pytest.fixture
def as_admin_a(client, a):
    client.force_login(CommuneAdminFactory(commune=a.commune))
    return client


@pytest.fixture
def as_operator(client):
    client.force_login(OperatorFactory())
    return client


def assert_shows_none_of(response, rows):
    for marker in rows.markers:
        assert marker not in page(response), f"{marker} leaked"


# --- Listing --------------------------------------------------------------------------------------


def test_admin_lists_only_their_communes_lines_latest_year_first(as_admin_a, a, b):
    response = as_admin_a.get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [a.lines[1], a.lines[2], a.lines[0]]
    assert "2026-2027" in page(response) and "2025-2026" in page(response)
    assert_shows_none_of(response, b)


def test_filters_by_year_and_service(as_admin_a, a):
    by_year = as_admin_a.get(reverse(CHANGELIST), {"school_year": 2025})
    assert list(by_year.context["cl"].result_list) == [a.lines[0]]
    by_service = as_admin_a.get(reverse(CHANGELIST), {"service__id__exact": a.scolaire.pk})
    assert list(by_service.context["cl"].result_list) == [a.lines[2]]


def test_filters_and_search_do_not_reach_another_commune(as_admin_a, a, b):
    for query in (
        {"q": "Beta"},
        {"service__id__exact": b.enfance.pk},
        {"commune__id__exact": b.commune.pk},
        {"school_year": 2026},
    ):
        response = as_admin_a.get(reverse(CHANGELIST), query, follow=True)
        assert response.status_code in {200, 400}
        assert_shows_none_of(response, b)
    # The filters offer only the commune's own services.
    response = as_admin_a.get(reverse(CHANGELIST))
    assert "EnfanceAlpha" in page(response)


def test_the_index_offers_the_file_to_a_commune_admin(as_admin_a):
    assert reverse(CHANGELIST) in page(as_admin_a.get(reverse("admin:index")))


def test_operator_sees_every_commune_with_its_name(as_operator, a, b):
    response = as_operator.get(reverse(CHANGELIST))
    assert set(response.context["cl"].result_list) == {*a.lines, *b.lines}
    assert "VilleAlpha" in page(response) and "VilleBeta" in page(response)


# --- Another commune's lines ----------------------------------------------------------------------


def test_admin_cannot_open_change_or_delete_another_communes_line(as_admin_a, b):
    line = b.lines[1]
    for url in (change_url(line), delete_url(line)):
        assert_not_found(as_admin_a.get(url))
        assert_not_found(as_admin_a.post(url, {"post": "yes", "help_text": "PIRATE"}))
    line.refresh_from_db()
    assert line.help_text == "AvisBeta2026"
    assert RequiredDocument.objects.filter(pk=line.pk).exists()


def test_the_service_choices_are_the_communes_own(as_admin_a, a, b):
    response = as_admin_a.get(reverse(ADD))
    services = response.context["adminform"].form.fields["service"].queryset
    assert set(services) == {a.enfance, a.scolaire}
    assert "commune" not in response.context["adminform"].form.fields
    assert_shows_none_of(response, b)


def test_adding_a_line_sets_the_commune_and_refuses_another_communes_service(as_admin_a, a, b):
    data = form_data(as_admin_a.get(reverse(ADD)))
    data.update(
        school_year="2027",
        service=str(b.enfance.pk),
        doc_type=DocumentType.JUSTIFICATIF_DOMICILE,
        provider=Provider.FOYER,
        help_text="Facture de moins de 3 mois",
        position="3",
    )
    refused = as_admin_a.post(reverse(ADD), data)
    assert refused.status_code == 200
    assert INVALID_CHOICE in page(refused)
    assert not RequiredDocument.objects.filter(school_year=2027).exists()

    data["service"] = str(a.enfance.pk)
    response = as_admin_a.post(reverse(ADD), data)
    assert response.status_code == 302
    line = RequiredDocument.objects.get(school_year=2027)
    assert line.commune == a.commune and line.service == a.enfance
    assert LogEntry.objects.filter(object_id=str(line.pk), action_flag=ADDITION).exists()


def test_a_duplicate_line_is_refused_with_a_message_not_a_server_error(as_admin_a, a):
    data = form_data(as_admin_a.get(reverse(ADD)))
    data.update(
        school_year="2026",
        service=str(a.enfance.pk),
        doc_type=DocumentType.AVIS_IMPOSITION,
        provider=Provider.FOYER,
        position="5",
    )
    response = as_admin_a.post(reverse(ADD), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert RequiredDocument.objects.filter(commune=a.commune, school_year=2026).count() == 2


def test_the_operator_cannot_give_a_line_another_communes_service(as_operator, a, b):
    data = form_data(as_operator.get(reverse(ADD)))
    data.update(
        commune=str(a.commune.pk),
        school_year="2027",
        service=str(b.enfance.pk),
        doc_type=DocumentType.JUSTIFICATIF_DOMICILE,
        provider=Provider.FOYER,
        position="1",
    )
    response = as_operator.post(reverse(ADD), data)
    assert response.status_code == 200
    assert "Ce service appartient à une autre commune." in page(response)
    assert not RequiredDocument.objects.filter(school_year=2027).exists()


# --- « Reprendre pour l'année suivante » ----------------------------------------------------------


def test_copying_a_year_to_the_next_one_keeps_what_is_already_there(as_admin_a, a, b):
    # 2025 → 2026: the tax notice is already in 2026's list (kept as it is).
    # 2026 → 2027: both lines are created, with their service, provider, help and order.
    response = as_admin_a.post(
        reverse(CHANGELIST),
        {"action": ACTION, "_selected_action": [str(line.pk) for line in a.lines]},
        follow=True,
    )

    assert response.status_code == 200
    text = page(response)
    assert "2 documents repris pour l&#x27;année suivante." in text
    assert "1 document figurait déjà dans la liste de l&#x27;année suivante" in text
    copies = list(RequiredDocument.objects.filter(commune=a.commune, school_year=2027))
    assert [(c.doc_type, c.provider, c.service, c.help_text, c.position) for c in copies] == [
        (DocumentType.AVIS_IMPOSITION, Provider.FOYER, a.enfance, "AvisAlpha2026", 1),
        (DocumentType.ATTESTATION_ASSURANCE, Provider.ENFANT, a.scolaire, "AssuranceAlpha2026", 2),
    ]
    assert RequiredDocument.objects.get(
        commune=a.commune, school_year=2026, doc_type=DocumentType.AVIS_IMPOSITION
    ).help_text == ("AvisAlpha2026")
    for copy in copies:
        assert LogEntry.objects.filter(object_id=str(copy.pk), action_flag=ADDITION).exists()
    # Again: nothing more.
    as_admin_a.post(
        reverse(CHANGELIST),
        {"action": ACTION, "_selected_action": [str(line.pk) for line in a.lines]},
    )
    assert RequiredDocument.objects.filter(commune=a.commune, school_year=2027).count() == 2
    assert not RequiredDocument.objects.filter(commune=b.commune, school_year=2027).exists()


def test_copying_cannot_reach_another_communes_lines(as_admin_a, a, b):
    as_admin_a.post(
        reverse(CHANGELIST),
        {"action": ACTION, "_selected_action": [str(line.pk) for line in b.lines]},
    )
    assert not RequiredDocument.objects.filter(school_year=2027).exists()
    assert RequiredDocument.objects.filter(commune=b.commune).count() == 3
