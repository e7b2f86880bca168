"""« Un document de votre espace de stockage sécurisé peut être choisi dans toute démarche au lieu
d'être envoyé à nouveau » (issue 5): a file field of a procedure offers, to an account linked to a
family with stored documents, « ou choisissez un document de votre espace de stockage sécurisé »;
the request gets a copy of the file under a name of its own, so it stays whole when the family
deletes the document. Documents of another family or commune, refused or expired, are neither
offered nor accepted; one way only; nothing offered to anonymous visitors or accounts without a
family. Each test fails without the behaviour it names."""

import copy
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from parvis.communes.tests.factories import CommuneFactory
from parvis.demarches import services
from parvis.demarches.definitions import validate_definition
from parvis.demarches.links import step_url
from parvis.demarches.models import Audience, Demande, DemandeAttachment, Status
from parvis.demarches.tests.factories import SIMPLE_DEFINITION, ProcedureFactory
from parvis.demarches.tests.suivi_support import (
    PDF_BYTES,
    agent_of,
    log_in,
    pdf_upload,
    text_of,
)
from parvis.families.services_documents import delete_document
from parvis.families.tests.factories import (
    ChildFactory,
    CitizenFactory,
    FamilleFactory,
    FamilyAccessFactory,
    make_document,
)
from parvis.families.tests.factories import pdf_upload as document_pdf
from parvis.testing.files import pdf_bytes

pytestmark = pytest.mark.django_db

STORED_BYTES = pdf_bytes("avis d'imposition de la famille")
CHOICE = "ou choisissez un document de votre espace de stockage sécurisé"
DEFINITION = {
    "steps": [
        {
            "title": "Ma demande",
            "fields": [
                {"name": "objet", "label": "Objet", "type": "text", "max_length": 100},
                {
                    "name": "justificatif",
                    "label": "Justificatif de ressources",
                    "type": "file",
                    "required": True,
                    "help": "Votre dernier avis d'imposition.",
                },
            ],
        }
    ]
}


@pytest.fixture
def commune():
    return CommuneFactory(slug="carrieres-sous-poissy")


@pytest.fixture
def procedure(commune):
    return ProcedureFactory(
        commune=commune,
        slug="aide-aux-vacances",
        title="Aide aux vacances",
        audience=Audience.ANYONE,
        definition=DEFINITION,
    )


@pytest.fixture
def access(commune):
    famille = FamilleFactory(commune=commune, name="DURAND")
    return FamilyAccessFactory(famille=famille)


@pytest.fixture
def parent(access):
    return access.user


@pytest.fixture
def tax_notice(access):
    return make_document(
        famille=access.famille,
        doc_type="avis_imposition",
        status="valide",
        label="Avis d'imposition 2025",
        upload=document_pdf("scan_0042.pdf", STORED_BYTES),
    )


def start(client, procedure) -> Demande:
    response = client.post(
        reverse(
            "demarches:demarche",
            kwargs={"commune": procedure.commune.slug, "slug": procedure.slug},
        )
    )
    assert response.status_code == 302
    return Demande.objects.filter(procedure=procedure).latest("pk")


def choice_error(response) -> str:
    html = response.content.decode()
    assert 'id="id_justificatif__document_error"' in html, html
    return text_of(response)


def test_a_parent_joins_a_copy_of_a_stored_tax_notice_that_outlives_the_document(
    client, procedure, parent, tax_notice, django_capture_on_commit_callbacks
):
    log_in(client, parent)
    demande = start(client, procedure)
    page = client.get(step_url(demande, 1))
    text = text_of(page)
    assert CHOICE in text
    assert "Avis d'imposition 2025 (Avis d'imposition, tout le foyer)" in text
    # One group whose legend is the question, its help said once for the group.
    html = page.content.decode()
    assert '<fieldset class="form__group demarche-file-choice"' in html
    assert "Justificatif de ressources" in html.split("<legend", 1)[1].split("</legend>")[0]
    assert 'aria-describedby="id_justificatif_grouphelp"' in html

    response = client.post(
        step_url(demande, 1),
        {"objet": "Séjour d'été", "justificatif__document": str(tax_notice.pk)},
    )
    assert response.status_code == 302
    attachment = DemandeAttachment.objects.get(demande=demande)
    assert attachment.field_name == "justificatif"
    assert attachment.original_name == "Avis d'imposition 2025.pdf"
    assert (attachment.content_type, attachment.size) == ("application/pdf", len(STORED_BYTES))
    assert attachment.file.name != tax_notice.file.name  # a copy, under a name of its own
    assert "scan_0042" not in attachment.file.name
    with attachment.file.open("rb") as stored:
        assert stored.read() == STORED_BYTES

    summary = client.get(step_url(demande, 2))
    assert "Avis d'imposition 2025.pdf" in text_of(summary)
    client.post(step_url(demande, 2), {"action": "valider"})
    demande.refresh_from_db()
    assert demande.status == Status.EN_ATTENTE

    # The family deletes the document from its storage: the request keeps its copy.
    document_name = tax_notice.file.name
    storage = tax_notice.file.storage
    with django_capture_on_commit_callbacks(execute=True):
        delete_document(document=tax_notice, actor=parent)
    assert not storage.exists(document_name)
    attachment.refresh_from_db()
    with attachment.file.open("rb") as stored:
        assert stored.read() == STORED_BYTES

    # The agent reads the joined file as any other.
    agent = agent_of(procedure.commune)
    log_in(client, agent)
    page = client.get(
        reverse(
            "backoffice:demande",
            kwargs={"commune": procedure.commune.slug, "number": demande.number},
        )
    )
    assert page.status_code == 200
    assert "Avis d'imposition 2025.pdf" in text_of(page)


def other_family_document(commune):
    other = FamilleFactory(commune=commune, name="MARTIN")
    return make_document(famille=other, status="valide", label="Avis des MARTIN")


def other_commune_document(commune):
    elsewhere = CommuneFactory(slug="poissy")
    return make_document(famille=FamilleFactory(commune=elsewhere), label="Avis de Poissy")


def refused_document(famille):
    return make_document(famille=famille, status="refuse", label="Avis illisible")


def expired_document(famille):
    today = timezone.localdate()
    return make_document(
        famille=famille,
        doc_type="justificatif_domicile",
        document_date=today - timedelta(days=120),
        label="Facture EDF ancienne",
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda access: other_family_document(access.commune),
        lambda access: other_commune_document(access.commune),
        lambda access: refused_document(access.famille),
        lambda access: expired_document(access.famille),
    ],
    ids=["another-family", "another-commune", "refused", "expired"],
)
def test_a_document_that_may_not_be_joined_is_neither_offered_nor_accepted(
    client, procedure, access, tax_notice, make
):
    forbidden = make(access)
    log_in(client, access.user)
    demande = start(client, procedure)
    page = text_of(client.get(step_url(demande, 1)))
    assert "Avis d'imposition 2025" in page  # the list is there…
    assert forbidden.label not in page  # …without that one

    response = client.post(
        step_url(demande, 1),
        {"objet": "Séjour d'été", "justificatif__document": str(forbidden.pk)},
    )
    assert response.status_code == 200
    text = choice_error(response)
    assert "Ce document n'est pas dans votre espace de stockage sécurisé" in text
    assert not DemandeAttachment.objects.filter(demande=demande).exists()
    demande.refresh_from_db()
    assert demande.current_step == 1


def test_a_forged_value_that_is_not_a_number_is_refused_in_french(
    client, procedure, parent, tax_notice
):
    log_in(client, parent)
    demande = start(client, procedure)
    response = client.post(
        step_url(demande, 1), {"objet": "Séjour", "justificatif__document": "../../etc/passwd"}
    )
    assert "Ce document n'est pas dans votre espace de stockage sécurisé" in choice_error(response)
    assert not DemandeAttachment.objects.filter(demande=demande).exists()


def test_a_file_and_a_stored_document_together_are_refused(client, procedure, parent, tax_notice):
    log_in(client, parent)
    demande = start(client, procedure)
    response = client.post(
        step_url(demande, 1),
        {
            "objet": "Séjour d'été",
            "justificatif": pdf_upload("avis.pdf"),
            "justificatif__document": str(tax_notice.pk),
        },
    )
    assert response.status_code == 200
    assert 'id="id_justificatif_error"' in response.content.decode()
    assert "pas les deux" in text_of(response)
    assert not DemandeAttachment.objects.filter(demande=demande).exists()


def test_a_required_file_field_needs_one_of_the_two_ways(client, procedure, parent, tax_notice):
    log_in(client, parent)
    demande = start(client, procedure)
    response = client.post(step_url(demande, 1), {"objet": "Séjour d'été"})
    assert response.status_code == 200
    assert 'id="id_justificatif_error"' in response.content.decode()
    assert (
        "Joignez un fichier ou choisissez un document de votre espace de stockage sécurisé."
        in text_of(response)
    )


def test_an_upload_still_works_next_to_the_choice(client, procedure, parent, tax_notice):
    log_in(client, parent)
    demande = start(client, procedure)
    response = client.post(
        step_url(demande, 1), {"objet": "Séjour", "justificatif": pdf_upload("avis.pdf")}
    )
    assert response.status_code == 302
    attachment = DemandeAttachment.objects.get(demande=demande)
    assert attachment.original_name == "avis.pdf"
    assert attachment.file.read() == PDF_BYTES


def test_a_new_choice_replaces_the_file_already_joined(
    client, procedure, parent, tax_notice, django_capture_on_commit_callbacks
):
    log_in(client, parent)
    demande = start(client, procedure)
    client.post(step_url(demande, 1), {"objet": "Séjour", "justificatif": pdf_upload("avis.pdf")})
    first = DemandeAttachment.objects.get(demande=demande)
    storage, first_name = first.file.storage, first.file.name

    page = text_of(client.get(step_url(demande, 1)))
    assert "Fichier déjà joint : avis.pdf." in page
    # Already answered: going on without a new file keeps it.
    assert client.post(step_url(demande, 1), {"objet": "Séjour"}).status_code == 302
    assert DemandeAttachment.objects.get(demande=demande).pk == first.pk

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            step_url(demande, 1),
            {"objet": "Séjour", "justificatif__document": str(tax_notice.pk)},
        )
    attachment = DemandeAttachment.objects.get(demande=demande)
    assert attachment.original_name == "Avis d'imposition 2025.pdf"
    assert not storage.exists(first_name)


def test_a_chosen_document_is_kept_when_another_field_of_the_step_is_wrong(
    client, procedure, parent, tax_notice
):
    log_in(client, parent)
    demande = start(client, procedure)
    response = client.post(
        step_url(demande, 1), {"objet": "x" * 101, "justificatif__document": str(tax_notice.pk)}
    )
    assert response.status_code == 200
    assert 'id="id_objet_error"' in response.content.decode()
    assert DemandeAttachment.objects.get(demande=demande).original_name == (
        "Avis d'imposition 2025.pdf"
    )
    assert "Fichier déjà joint : Avis d'imposition 2025.pdf." in text_of(response)


def test_the_choice_names_the_person_a_document_concerns(client, procedure, access, tax_notice):
    child = ChildFactory(famille=access.famille, first_names="Léa")
    make_document(
        famille=access.famille,
        doc_type="carnet_vaccination",
        personne=child,
        label="Vaccins de Léa",
    )
    log_in(client, access.user)
    demande = start(client, procedure)
    assert f"Vaccins de Léa (Carnet de vaccination, {child})" in text_of(
        client.get(step_url(demande, 1))
    )


def test_the_choice_is_not_offered_anonymously_and_a_forged_value_joins_nothing(
    client, procedure, tax_notice
):
    demande = start(client, procedure)  # an anonymous visitor
    page = client.get(step_url(demande, 1))
    assert CHOICE not in text_of(page)
    assert "justificatif__document" not in page.content.decode()
    response = client.post(
        step_url(demande, 1),
        {"objet": "Séjour", "justificatif__document": str(tax_notice.pk)},
    )
    assert response.status_code == 200  # the file is still required: nothing was joined
    assert 'id="id_justificatif_error"' in response.content.decode()
    assert not DemandeAttachment.objects.filter(demande=demande).exists()


def test_an_account_without_a_family_is_not_offered_the_choice(client, procedure, tax_notice):
    loner = CitizenFactory(commune=procedure.commune)
    log_in(client, loner)
    demande = start(client, procedure)
    page = client.get(step_url(demande, 1))
    assert CHOICE not in text_of(page)
    response = client.post(
        step_url(demande, 1), {"objet": "Séjour", "justificatif__document": str(tax_notice.pk)}
    )
    assert response.status_code == 200
    assert not DemandeAttachment.objects.filter(demande=demande).exists()


def test_a_family_without_documents_is_not_offered_the_choice(client, procedure, parent):
    log_in(client, parent)
    demande = start(client, procedure)
    assert CHOICE not in text_of(client.get(step_url(demande, 1)))


def test_a_step_without_file_field_does_not_read_the_storage(client, commune, parent, tax_notice):
    simple = ProcedureFactory(commune=commune, definition=SIMPLE_DEFINITION)
    log_in(client, parent)
    demande = start(client, simple)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(step_url(demande, 1)).status_code == 200
    assert captured.captured_queries
    assert not any("families_document" in query["sql"] for query in captured.captured_queries)


def test_the_step_reads_the_documents_in_a_constant_number_of_queries(
    client, procedure, access, tax_notice, django_assert_max_num_queries
):
    log_in(client, access.user)
    demande = start(client, procedure)
    with django_assert_max_num_queries(30) as few:
        client.get(step_url(demande, 1))
    for n in range(5):
        make_document(
            famille=access.famille,
            doc_type="autre",
            personne=ChildFactory(famille=access.famille),
            label=f"Autre {n}",
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(step_url(demande, 1))
    assert "Autre 4" in text_of(page)


def test_the_service_refuses_a_document_of_a_family_the_requester_does_not_act_for(
    procedure, parent, tax_notice
):
    other = other_family_document(procedure.commune)
    demande = services.start_draft(procedure=procedure, user=parent)
    with pytest.raises(services.NotAllowed):
        services.save_step(demande=demande, step=1, answers={}, documents={"justificatif": other})
    assert not DemandeAttachment.objects.filter(demande=demande).exists()
    # Nor for an anonymous draft, nor a refused document of one's own family.
    anonymous = services.start_draft(procedure=procedure, draft_key="cle")
    with pytest.raises(services.NotAllowed):
        services.attach_document(demande=anonymous, document=tax_notice, field_name="justificatif")
    refused = refused_document(tax_notice.famille)
    with pytest.raises(services.NotAllowed):
        services.attach_document(demande=demande, document=refused, field_name="justificatif")


def test_the_copy_is_named_after_the_document_with_one_extension(procedure, access, tax_notice):
    named = make_document(famille=access.famille, doc_type="autre", label="Attestation.PDF")
    demande = services.start_draft(procedure=procedure, user=access.user)
    first = services.attach_document(
        demande=demande, document=tax_notice, field_name="justificatif"
    )
    second = services.attach_document(demande=demande, document=named, field_name="autre")
    assert (first.original_name, second.original_name) == (
        "Avis d'imposition 2025.pdf",
        "Attestation.PDF",
    )


def with_types(types):
    definition = copy.deepcopy(DEFINITION)
    definition["steps"][0]["fields"][1]["document_types"] = types
    return validate_definition(definition)


def test_only_the_documents_that_fit_are_offered(client, procedure, parent, access, tax_notice):
    """Issue 21 §2: a file field's « document_types » says which stored documents fit."""
    make_document(famille=access.famille, doc_type="piece_identite", label="CNI de Marc")
    procedure.definition = with_types(["avis_imposition"])
    procedure.save()
    log_in(client, parent)
    client.post(
        reverse(
            "demarches:demarche",
            kwargs={"commune": procedure.commune.slug, "slug": procedure.slug},
        )
    )
    demande = Demande.objects.filter(procedure=procedure).latest("pk")
    text = text_of(client.get(step_url(demande, 1)))
    assert "Avis d'imposition 2025" in text and "CNI de Marc" not in text

    procedure.definition = with_types(["piece_identite"])
    procedure.save()
    text = text_of(client.get(step_url(demande, 1)))
    assert "CNI de Marc" in text and "Avis d'imposition 2025" not in text

    procedure.definition = with_types(["attestation_caf"])  # none fits: no choice at all
    procedure.save()
    assert "ou choisissez un document" not in text_of(client.get(step_url(demande, 1)))
