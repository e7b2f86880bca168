"""« Créer une inscription » → « Dossier administratif » for a family: the checklist of the
school year with each slot's state in words and symbol, a document inserted right into a slot
(errors next to the field, entries kept), a stored document filling its slot by itself, the
file's state, « Valider » and its confirmation; another family's or commune's data never shows,
and the page costs the same whatever the number of requirements and documents."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from parvis.accounts.models import AuditEntry
from parvis.communes.models import Service
from parvis.demarches.catalogue import CATALOGUE_DIR
from parvis.demarches.models import Audience, Demande, Procedure, Status
from parvis.demarches.services_dossier import DOSSIER_SLUG
from parvis.demarches.services_dossier import file_dossier as _file_dossier
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.demarches.tests.suivi_support import log_in, text_of
from parvis.families.documents import school_year_of
from parvis.families.models import Document, DocumentType, Provider, RequiredDocument
from parvis.families.tests.factories import (
    ChildFactory,
    FamilleFactory,
    FamilyAccessFactory,
    PersonneFactory,
    ServiceFactory,
    make_document,
    pdf_upload,
)

pytestmark = pytest.mark.django_db


def catalogue_definition() -> dict:
    entry = json.loads((CATALOGUE_DIR / f"{DOSSIER_SLUG}.json").read_text(encoding="utf-8"))
    return entry["definition"]


@dataclass
class World:
    commune: object
    famille: object
    user: object
    parent: object
    children: list
    service: object
    year: int
    avis: object  # the requirements
    domicile: object
    assurance: object


def dossier_world(*, commune=None, children: int = 1, procedure: bool = True) -> World:
    """A family (one responsable, `children` children) linked to an account, and the commune's
    file for the current school year: a tax notice and a proof of address for the household,
    an insurance certificate for each child."""
    famille = FamilleFactory(**({"commune": commune} if commune else {}))
    commune = famille.commune
    access = FamilyAccessFactory(famille=famille)
    parent = PersonneFactory(famille=famille, first_names="Françoise")
    kids = [ChildFactory(famille=famille, first_names=f"Enfant{n}") for n in range(children)]
    service = Service.objects.filter(commune=commune, kind="enfance").first() or ServiceFactory(
        commune=commune, kind="enfance", name="Service Enfance"
    )
    if procedure and not Procedure.objects.filter(commune=commune, slug=DOSSIER_SLUG).exists():
        ProcedureFactory(
            commune=commune,
            service=service,
            slug=DOSSIER_SLUG,
            title="Dossier administratif",
            category="Mon compte",
            audience=Audience.FAMILY,
            definition=catalogue_definition(),
        )
    year = school_year_of(timezone.localdate())

    def requirement(doc_type, provider, position, help_text=""):
        return RequiredDocument.objects.get_or_create(
            commune=commune,
            school_year=year,
            doc_type=doc_type,
            provider=provider,
            defaults={"service": service, "position": position, "help_text": help_text},
        )[0]

    return World(
        commune=commune,
        famille=famille,
        user=access.user,
        parent=parent,
        children=kids,
        service=service,
        year=year,
        avis=requirement(
            DocumentType.AVIS_IMPOSITION, Provider.FOYER, 1, "Les deux avis si vous êtes deux."
        ),
        domicile=requirement(DocumentType.JUSTIFICATIF_DOMICILE, Provider.FOYER, 2),
        assurance=requirement(DocumentType.ATTESTATION_ASSURANCE, Provider.ENFANT, 3),
    )


def file_dossier(**kwargs):
    """file_dossier, with the request as filed (the service hands back the draft it submitted)."""
    demande = _file_dossier(**kwargs)
    demande.refresh_from_db()
    return demande


def fill_everything(w: World, *, status: str = "valide") -> None:
    make_document(
        famille=w.famille,
        doc_type=DocumentType.AVIS_IMPOSITION,
        income_year=w.year - 1,
        status=status,
        label="Avis 2025",
    )
    make_document(famille=w.famille, doc_type=DocumentType.JUSTIFICATIF_DOMICILE, status=status)
    for child in w.children:
        make_document(
            famille=w.famille,
            doc_type=DocumentType.ATTESTATION_ASSURANCE,
            personne=child,
            status=status,
        )


def index_url(commune) -> str:
    return reverse("inscriptions:index", kwargs={"commune": commune.slug})


def dossier_url(commune, **query) -> str:
    url = reverse("inscriptions:dossier_administratif", kwargs={"commune": commune.slug})
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def valider_url(commune, **query) -> str:
    url = reverse("inscriptions:dossier_valider", kwargs={"commune": commune.slug})
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def slot_key(requirement, personne=None) -> str:
    return f"{requirement.pk}-{personne.pk if personne else 0}"


def insert(client, w: World, requirement, personne=None, upload=None, **fields):
    key = slot_key(requirement, personne)
    data = {"slot": key, f"doc-{key}-fichier": upload or pdf_upload()}
    data.update({f"doc-{key}-{name}": value for name, value in fields.items()})
    return client.post(dossier_url(w.commune, annee=w.year), data)


@pytest.fixture
def w():
    return dossier_world()


@pytest.fixture
def client_w(client, w):
    return log_in(client, w.user)


# --- « Créer une inscription » --------------------------------------------------------------------


def test_index_lists_the_administrative_file_with_its_state_per_school_year(client_w, w):
    later = RequiredDocument.objects.create(
        commune=w.commune,
        school_year=w.year + 1,
        service=w.service,
        doc_type=DocumentType.JUSTIFICATIF_DOMICILE,
    )
    make_document(famille=w.famille, doc_type=DocumentType.JUSTIFICATIF_DOMICILE)

    response = client_w.get(index_url(w.commune))

    assert response.status_code == 200
    text = text_of(response)
    assert "Créer une inscription" in text
    this_year = f"{w.year}-{w.year + 1}"
    next_year = f"{later.school_year}-{later.school_year + 1}"
    assert f"Année scolaire {this_year} : ✗ dossier incomplet" in text
    # Next year's file asks only for the proof of address, already deposited: « à valider ».
    assert f"Année scolaire {next_year} : ⏳ dossier à valider" in text
    # The coming year first: that is the one families prepare.
    assert text.index(next_year) < text.index(this_year)
    assert dossier_url(w.commune, annee=w.year) in response.content.decode()
    assert "ne pas utiliser l'onglet « Pièces justificatives »" in text


def test_index_says_so_when_the_commune_has_set_no_file(client):
    famille = FamilleFactory()
    log_in(client, FamilyAccessFactory(famille=famille).user)

    text = text_of(client.get(index_url(famille.commune)))

    assert "Dossier administratif" in text
    assert "n'a pas encore fixé la liste des documents" in text


def test_an_account_without_family_is_told_how_to_link_it(client):
    w = dossier_world()
    ServiceFactory(commune=w.commune, key_label="Clé Espace Citoyens Enfance")
    from parvis.families.tests.factories import CitizenFactory

    log_in(client, CitizenFactory(commune=w.commune))
    for url in (index_url(w.commune), dossier_url(w.commune)):
        response = client.get(url)
        text = text_of(response)
        assert response.status_code == 200
        assert "Reliez votre espace à votre famille" in text
        assert "Clé Espace Citoyens Enfance" in text
        assert "Saisir ma clé" in text
        assert "Insérez les documents" not in text


def test_the_home_page_has_a_tile_for_creer_une_inscription(client_w, w):
    response = client_w.get(reverse("accounts:accueil", kwargs={"commune": w.commune.slug}))
    assert index_url(w.commune) in response.content.decode()
    assert "Créer une inscription" in text_of(response)


# --- The checklist --------------------------------------------------------------------------------


def test_the_checklist_shows_each_slot_with_who_provides_it_and_its_state(client_w, w):
    w.children.append(ChildFactory(famille=w.famille, first_names="Léa"))
    response = client_w.get(dossier_url(w.commune))

    assert response.status_code == 200
    text = text_of(response)
    assert "Insérez les documents" in text
    assert "ne pas utiliser l'onglet « Pièces justificatives »" in text
    assert f"année scolaire {w.year}-{w.year + 1}" in text
    assert "État du dossier : ✗ incomplet" in text
    # One slot per child for a child's requirement, one for the household otherwise.
    slots = response.context["rows"]
    assert [row.slot.key for row in slots] == [
        slot_key(w.avis),
        slot_key(w.domicile),
        *(slot_key(w.assurance, child) for child in w.children),
    ]
    assert "Le foyer (un document pour tous)" in text
    assert "Chaque enfant — pour Léa" in text
    assert "Les deux avis si vous êtes deux." in text  # the commune's help text
    assert "Vérifié par Service Enfance" in text
    assert text.count("État : ✗ manquant") == 4
    assert "Il manque : Avis d'imposition" in text
    # A form to insert each missing document; the tax notice asks for its income year (N-1).
    html = response.content.decode()
    assert html.count('name="slot"') == 4
    assert f'name="doc-{slot_key(w.avis)}-income_year"' in html
    assert f'value="{w.year - 1}"' in html
    assert f"sur les revenus {w.year - 1}" in text
    assert f'name="doc-{slot_key(w.domicile)}-document_date"' in html
    assert f'name="doc-{slot_key(w.assurance, w.children[0])}-document_date"' in html
    assert ">Valider</button>" in html


def test_a_stored_document_that_counts_fills_its_slot_by_itself(client_w, w):
    make_document(
        famille=w.famille,
        doc_type=DocumentType.AVIS_IMPOSITION,
        income_year=w.year - 1,
        status="valide",
        label="Mon avis",
    )
    make_document(famille=w.famille, doc_type=DocumentType.JUSTIFICATIF_DOMICILE, label="EDF")

    text = text_of(client_w.get(dossier_url(w.commune)))

    assert "État : ✓ valide" in text
    assert "Mon avis" in text and "validé par le service" in text
    assert f"valable jusqu'au 31/08/{w.year + 1}" in text
    assert "État : ⏳ à valider" in text
    assert "EDF" in text and "déposé, en attente de vérification" in text
    assert text.count("État : ✗ manquant") == 1  # the child's insurance
    assert "Remplacer ce document" in text


def test_the_page_says_why_a_stored_document_does_not_count(client_w, w):
    make_document(famille=w.famille, doc_type=DocumentType.AVIS_IMPOSITION, income_year=w.year - 3)
    old = timezone.localdate() - timedelta(days=200)
    make_document(
        famille=w.famille,
        doc_type=DocumentType.JUSTIFICATIF_DOMICILE,
        document_date=old,
        label="Vieille facture",
    )
    make_document(
        famille=w.famille,
        doc_type=DocumentType.ATTESTATION_ASSURANCE,
        personne=w.children[0],
        status="refuse",
        label="Assurance floue",
    )

    text = text_of(client_w.get(dossier_url(w.commune, annee=w.year)))

    assert "« Avis d'imposition » n'est plus valable depuis le 01/09/" in text
    assert "« Vieille facture » n'est plus valable depuis le" in text
    assert "« Assurance floue » a été refusé : Illisible" in text
    assert "État du dossier : ✗ incomplet" in text


def test_next_years_file_says_last_years_tax_notice_does_not_count(client_w, w):
    RequiredDocument.objects.create(
        commune=w.commune,
        school_year=w.year + 1,
        service=w.service,
        doc_type=DocumentType.AVIS_IMPOSITION,
    )
    make_document(
        famille=w.famille,
        doc_type=DocumentType.AVIS_IMPOSITION,
        income_year=w.year - 1,
        status="valide",
    )

    this_year = text_of(client_w.get(dossier_url(w.commune, annee=w.year)))
    next_year = text_of(client_w.get(dossier_url(w.commune, annee=w.year + 1)))

    assert "Avis d'imposition État : ✓ valide" in this_year
    assert "État du dossier : ✗ incomplet" in next_year
    assert f"sur les revenus {w.year - 1} ne compte pas pour l'année scolaire" in next_year
    assert f"il faut celui sur les revenus {w.year}" in next_year


def test_the_year_comes_from_the_address_and_an_unknown_year_is_a_404(client_w, w):
    RequiredDocument.objects.create(
        commune=w.commune,
        school_year=w.year + 1,
        service=w.service,
        doc_type=DocumentType.PIECE_IDENTITE,
        provider=Provider.RESPONSABLE,
    )
    # Default: the latest year set, the one families prepare.
    response = client_w.get(dossier_url(w.commune))
    assert response.context["year"] == w.year + 1
    assert "Pièce d'identité — Françoise" in text_of(response)
    response = client_w.get(dossier_url(w.commune, annee=w.year))
    assert response.context["year"] == w.year
    assert "Pièce d'identité" not in text_of(response)
    for year in (w.year - 1, w.year + 2, "deux-mille", ""):
        assert client_w.get(dossier_url(w.commune, annee=year)).status_code == 404, year


def test_no_file_set_yet_is_said_plainly(client):
    famille = FamilleFactory()
    log_in(client, FamilyAccessFactory(famille=famille).user)
    response = client.get(dossier_url(famille.commune))
    assert response.status_code == 200
    assert "n'a pas encore fixé la liste des documents" in text_of(response)
    assert ">Valider</button>" not in response.content.decode()


# --- Inserting a document -------------------------------------------------------------------------


def test_inserting_the_tax_notice_stores_it_for_the_slot_and_the_service(client_w, w):
    response = insert(
        client_w,
        w,
        w.avis,
        upload=pdf_upload("avis-2026.pdf"),
        income_year=w.year - 1,
    )

    assert response.status_code == 302
    assert response["Location"].endswith(f"#piece-{slot_key(w.avis)}")
    document = Document.objects.get(famille=w.famille)
    assert document.doc_type == DocumentType.AVIS_IMPOSITION
    assert document.personne is None
    assert document.service == w.service
    assert document.income_year == w.year - 1
    assert document.uploaded_by == w.user
    assert document.original_name == "avis-2026.pdf"
    assert AuditEntry.objects.filter(action="document.create", actor=w.user).count() == 1
    page = client_w.get(response["Location"])
    text = text_of(page)
    assert "est ajouté à votre dossier" in text
    assert "État : ⏳ à valider" in text and "avis-2026.pdf" in text


def test_inserting_a_childs_document_names_the_child(client_w, w):
    child = w.children[0]
    day = timezone.localdate() - timedelta(days=10)
    response = insert(client_w, w, w.assurance, child, document_date=day.isoformat())
    assert response.status_code == 302
    document = Document.objects.get(famille=w.famille)
    assert document.personne == child
    assert document.doc_type == DocumentType.ATTESTATION_ASSURANCE
    assert document.document_date == day
    assert document.valid_until == day.replace(year=day.year + 1)


@pytest.mark.parametrize(
    "upload, fields, field, message",
    [
        (None, {"income_year": ""}, "income_year", "Ce champ est obligatoire"),
        ("exe", {"income_year": "{income}"}, "fichier", "n'est ni un PDF, ni une image"),
        ("empty", {"income_year": "{income}"}, "fichier", "est vide"),
        (None, {"income_year": "{old}"}, "income_year", "seul l'avis d'imposition sur les revenus"),
    ],
)
def test_a_refused_insertion_comes_back_next_to_its_field_with_the_entries(
    client_w, w, upload, fields, field, message
):
    uploads = {
        None: pdf_upload(),
        "exe": SimpleUploadedFile("avis.pdf", b"MZ\x90\x00" + b"\x00" * 60),
        "empty": SimpleUploadedFile("avis.pdf", b""),
    }
    values = {
        name: value.format(income=w.year - 1, old=w.year - 2) for name, value in fields.items()
    }
    response = insert(client_w, w, w.avis, upload=uploads[upload], **values)

    assert response.status_code == 200
    form = next(row.form for row in response.context["rows"] if row.slot.requirement == w.avis)
    assert message in " ".join(form.errors[field])
    html = response.content.decode()
    assert "Le formulaire n'a pas pu être envoyé" in html
    assert text_of(response).startswith("Erreur :")
    if values.get("income_year"):
        assert f'value="{values["income_year"]}"' in html  # the entry is kept
    # The page keeps its state; nothing was stored.
    assert "État du dossier : ✗ incomplet" in text_of(response)
    assert not Document.objects.exists()


def test_a_future_document_date_is_refused_with_the_date_kept(client_w, w):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = insert(client_w, w, w.domicile, document_date=tomorrow)
    assert response.status_code == 200
    assert "ne peut pas être dans le futur" in text_of(response)
    assert f'value="{tomorrow}"' in response.content.decode()
    assert not Document.objects.exists()


def test_the_service_refusal_goes_next_to_the_file_when_the_storage_is_full(client_w, w, settings):
    settings.FAMILY_DOCUMENTS_QUOTA = 10
    response = insert(client_w, w, w.avis, income_year=w.year - 1)
    assert response.status_code == 200
    form = next(row.form for row in response.context["rows"] if row.slot.requirement == w.avis)
    assert "Votre espace de stockage est plein" in " ".join(form.errors["fichier"])
    assert not Document.objects.exists()


def test_a_slot_that_is_not_in_the_file_is_a_404(client_w, w):
    neighbour = dossier_world(commune=w.commune)
    for key in ("999999-0", f"{w.assurance.pk}-{neighbour.children[0].pk}", "", "x"):
        response = client_w.post(
            dossier_url(w.commune, annee=w.year),
            {"slot": key, f"doc-{key}-fichier": pdf_upload(), f"doc-{key}-document_date": ""},
        )
        assert response.status_code == 404, key
    assert not Document.objects.exists()


# --- « Valider » ----------------------------------------------------------------------------------


def test_valider_with_documents_missing_says_what_is_missing_and_files_nothing(client_w, w):
    make_document(famille=w.famille, doc_type=DocumentType.JUSTIFICATIF_DOMICILE)

    response = client_w.post(valider_url(w.commune, annee=w.year))

    assert response.status_code == 200
    text = text_of(response)
    assert text.startswith("Erreur :")
    assert "Votre dossier n'a pas pu être transmis." in text
    assert "Il manque encore : Avis d'imposition, Attestation d'assurance — Enfant0" in text
    assert 'role="alert"' in response.content.decode()
    assert not Demande.objects.exclude(status=Status.BROUILLON).exists()


def test_valider_files_the_request_and_confirms_with_its_number(client_w, w):
    fill_everything(w, status="depose")

    response = client_w.post(valider_url(w.commune, annee=w.year))

    demande = Demande.objects.get(famille=w.famille)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "inscriptions:dossier_transmis",
        kwargs={"commune": w.commune.slug, "number": demande.number},
    )
    confirmation = client_w.get(response["Location"])
    text = text_of(confirmation)
    assert demande.number in text
    assert f"année scolaire {w.year}-{w.year + 1}" in text
    assert "En attente d'instruction" in text
    html = confirmation.content.decode()
    assert (
        reverse(
            "demarches:ma_demande", kwargs={"commune": w.commune.slug, "number": demande.number}
        )
        in html
    )
    assert reverse("demarches:tableau_de_bord", kwargs={"commune": w.commune.slug}) in html
    # Back on the file: it says the request is open, and offers no second « Valider ».
    page = client_w.get(dossier_url(w.commune, annee=w.year))
    assert f"déjà transmis au service : demande {demande.number}" in text_of(page)
    assert ">Valider</button>" not in page.content.decode()
    assert client_w.post(valider_url(w.commune, annee=w.year)).status_code == 200
    assert Demande.objects.filter(famille=w.famille).count() == 1


def test_an_accepted_complete_file_says_so_instead_of_valider(client_w, w):
    from parvis.demarches.services_dossier import settle_dossiers
    from parvis.families.tests.factories import AgentFactory

    fill_everything(w, status="valide")
    demande = file_dossier(famille=w.famille, user=w.user, school_year=w.year)
    settle_dossiers(famille=w.famille, actor=AgentFactory(commune=w.commune))

    page = client_w.get(dossier_url(w.commune))

    assert f"Votre dossier est complet : la demande {demande.number} est acceptée." in text_of(page)
    assert "État du dossier : ✓ complet" in text_of(page)
    assert ">Valider</button>" not in page.content.decode()


def test_a_commune_that_takes_no_file_online_says_so(client):
    w = dossier_world(procedure=False)
    log_in(client, w.user)
    page = client.get(dossier_url(w.commune))
    assert "ne reçoit pas de dossier administratif en ligne" in text_of(page)
    assert ">Valider</button>" not in page.content.decode()


def test_valider_and_the_confirmation_take_only_what_they_should(client_w, w):
    assert client_w.get(valider_url(w.commune, annee=w.year)).status_code == 405
    other = reverse(
        "inscriptions:dossier_transmis", kwargs={"commune": w.commune.slug, "number": "DEM-X"}
    )
    assert client_w.get(other).status_code == 404


# --- Never another family's -----------------------------------------------------------------------


def test_another_familys_documents_and_requests_never_show(client_w, w):
    neighbour = dossier_world(commune=w.commune)
    fill_everything(neighbour, status="depose")
    Document.objects.filter(famille=neighbour.famille).update(label="SECRET VOISIN")
    theirs = file_dossier(famille=neighbour.famille, user=neighbour.user, school_year=w.year)

    for url in (index_url(w.commune), dossier_url(w.commune), dossier_url(w.commune, annee=w.year)):
        response = client_w.get(url)
        text = text_of(response)
        assert response.status_code == 200
        assert "SECRET VOISIN" not in text and theirs.number not in text, url
        assert neighbour.famille.name not in text, url
    assert "✗ incomplet" in text_of(client_w.get(dossier_url(w.commune)))
    # The neighbours' family number, or their request's confirmation: 404.
    assert client_w.get(dossier_url(w.commune, famille=neighbour.famille.number)).status_code == 404
    transmis = reverse(
        "inscriptions:dossier_transmis",
        kwargs={"commune": w.commune.slug, "number": theirs.number},
    )
    assert client_w.get(transmis).status_code == 404
    response = client_w.post(valider_url(w.commune, annee=w.year, famille=neighbour.famille.number))
    assert response.status_code == 404
    assert Demande.objects.filter(famille=w.famille).count() == 0


def test_an_account_linked_to_two_families_chooses_which_file(client, w):
    second = dossier_world(commune=w.commune)
    FamilyAccessFactory(famille=second.famille, user=w.user)
    fill_everything(second, status="valide")
    log_in(client, w.user)

    index = text_of(client.get(index_url(w.commune)))
    assert f"famille {w.famille.name}" in index and f"famille {second.famille.name}" in index

    first_page = client.get(dossier_url(w.commune, annee=w.year, famille=w.famille.number))
    second_page = client.get(dossier_url(w.commune, annee=w.year, famille=second.famille.number))
    assert first_page.context["famille"] == w.famille
    assert "✗ incomplet" in text_of(first_page)
    assert second_page.context["famille"] == second.famille
    assert "État du dossier : ✓ complet" in text_of(second_page)
    # « Valider » files the family of the page.
    response = client.post(valider_url(w.commune, annee=w.year, famille=second.famille.number))
    assert response.status_code == 302
    assert Demande.objects.get().famille == second.famille


# --- Cost -----------------------------------------------------------------------------------------


def test_the_page_costs_the_same_for_one_or_many_requirements_and_documents(
    client, django_assert_max_num_queries
):
    small = dossier_world(children=1)
    RequiredDocument.objects.filter(commune=small.commune).exclude(pk=small.avis.pk).delete()
    log_in(client, small.user)
    url = dossier_url(small.commune)

    def count(url) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    with_one = count(url)

    big = dossier_world(children=4)
    fill_everything(big, status="depose")
    make_document(famille=big.famille, doc_type=DocumentType.AVIS_IMPOSITION, status="refuse")
    filed = file_dossier(famille=big.famille, user=big.user, school_year=big.year)
    assert filed.number
    for doc_type in (DocumentType.PIECE_IDENTITE, DocumentType.CARNET_VACCINATION):
        RequiredDocument.objects.create(
            commune=big.commune,
            school_year=big.year,
            service=big.service,
            doc_type=doc_type,
            provider=Provider.ENFANT,
        )
    log_in(client, big.user)
    with django_assert_max_num_queries(with_one):
        response = client.get(dossier_url(big.commune))
    assert len(response.context["rows"]) == 2 + 3 * 4
    with django_assert_max_num_queries(with_one):
        assert client.get(index_url(big.commune)).status_code == 200
