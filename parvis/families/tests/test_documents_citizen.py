"""The citizen's secure storage (« porte-documents ») through its pages: the list, adding a
document (with every refusal said next to its field and nothing stored), downloading, renaming,
deleting; and the « Compte » tab of « Gérer mes informations »: the household's « Pièces
justificatives » and its current family quotient."""

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parvis.accounts.models import AuditEntry
from parvis.families.documents import add_months
from parvis.families.models import Document, DocumentType, QfSource
from parvis.families.services import record_quotient
from parvis.families.tests.factories import (
    AgentFactory,
    ChildFactory,
    CitizenFactory,
    FamilleFactory,
    FamilyAccessFactory,
    PersonneFactory,
    make_document,
)
from parvis.families.views_documents import download_filename
from parvis.testing.files import pdf_bytes, png_bytes

pytestmark = pytest.mark.django_db

BACKEND = "parvis.accounts.backends.CommuneBackend"
PDF = pdf_bytes()
PNG = png_bytes()


def url(name: str, commune, query: str = "", **kwargs) -> str:
    return reverse(f"families:{name}", kwargs={"commune": commune.slug, **kwargs}) + query


def text_of(response) -> str:
    html = response.content.decode()
    text = re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").replace("&quot;", '"')
    return re.sub(r"[ \t\r\n\f\v]+", " ", text)  # not the no-break spaces


def stored_files() -> set[Path]:
    return {p for p in Path(settings.PRIVATE_MEDIA_ROOT).rglob("*") if p.is_file()}


def field_errors(response, field: str) -> str:
    """The error block said next to `field` (forms/field_errors.html), as text."""
    form = response.context["form"]
    return " ".join(str(e) for e in form.errors.get(field, []))


@pytest.fixture
def family():
    famille = FamilleFactory(name="DURAND")
    parent = PersonneFactory(famille=famille, first_names="Françoise")
    child = ChildFactory(famille=famille, first_names="Léa")
    access = FamilyAccessFactory(famille=famille)
    return {"famille": famille, "commune": famille.commune, "parent": parent, "child": child,
            "citizen": access.user}  # fmt: skip


@pytest.fixture
def logged(client, family):
    client.force_login(family["citizen"], backend=BACKEND)
    return client


def upload_post(family, **overrides) -> dict:
    data = {
        "famille": family["famille"].pk,
        "doc_type": DocumentType.AUTRE,
        "personne": "foyer",
        "label": "",
        "fichier": SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf"),
        "document_date": "",
        "income_year": "",
    }
    data.update(overrides)
    return data


# --- The list -------------------------------------------------------------------------------------


def test_the_list_says_everything_about_each_document(logged, family):
    today = date.today()
    make_document(
        famille=family["famille"], doc_type="carnet_vaccination", personne=family["child"],
        label="Carnet de Léa", status="valide",
    )  # fmt: skip
    make_document(famille=family["famille"], doc_type="autre", label="Scan flou", status="refuse")
    expired_day = today - timedelta(days=200)
    make_document(
        famille=family["famille"], doc_type="justificatif_domicile", label="Facture EDF",
        document_date=expired_day,
    )  # fmt: skip
    make_document(
        famille=family["famille"], doc_type="certificat_medical", label="Certificat sport",
        document_date=today,
    )  # fmt: skip
    response = logged.get(url("porte_documents", family["commune"]))
    assert response.status_code == 200
    text = text_of(response)
    assert "Mes documents" in text and "espace de stockage sécurisé" in text
    assert re.search(
        r"Carnet de Léa État : Validé Type Carnet de vaccination Personne concernée "
        r"Léa DURAND Déposé le \d\d/\d\d/\d{4} Validité sans date de fin "
        rf"Taille {len(PDF)}\xa0octets",
        text,
    ), text
    assert "Scan flou État : Refusé Motif du refus : Illisible Type Autre" in text
    assert "Personne concernée Tout le foyer" in text
    assert "Facture EDF État : Expiré" in text
    assert f"valable jusqu'au {add_months(expired_day, 3):%d/%m/%Y}" in text
    assert "Certificat sport État : Déposé" in text
    assert f"valable jusqu'au {add_months(today, 12):%d/%m/%Y}" in text
    # The space used against the quota.
    assert "Espace utilisé : 2,5\xa0Kio sur 100,0\xa0Mio (0 %)." in text  # 4 × pdf_bytes()
    # Each document's actions name it (for screen readers).
    for action in ("Télécharger", "Renommer", "Supprimer"):
        assert f"{action} Carnet de Léa" in text


def test_state_is_written_not_only_coloured(logged, family):
    make_document(famille=family["famille"], doc_type="autre", status="valide")
    html = logged.get(url("porte_documents", family["commune"])).content.decode()
    assert re.search(
        r'class="suivi-status suivi-status--acceptee">\s*État :\s*<strong>Validé', html
    )


def test_a_proof_of_address_reads_expired_the_day_after_three_months(logged, family):
    with time_machine.travel(date(2026, 11, 30), tick=False):
        make_document(
            famille=family["famille"], doc_type="justificatif_domicile", label="Quittance",
            document_date=date(2026, 11, 30),
        )  # fmt: skip
    with time_machine.travel(date(2027, 2, 28), tick=False):
        logged.force_login(family["citizen"], backend=BACKEND)
        text = text_of(logged.get(url("porte_documents", family["commune"])))
        assert "Quittance État : Déposé" in text and "valable jusqu'au 28/02/2027" in text
    with time_machine.travel(date(2027, 3, 1), tick=False):
        logged.force_login(family["citizen"], backend=BACKEND)
        text = text_of(logged.get(url("porte_documents", family["commune"])))
        assert "Quittance État : Expiré" in text


def test_the_list_shows_only_the_accounts_families(logged, family):
    neighbour = FamilleFactory(commune=family["commune"], name="VOISIN")
    make_document(famille=neighbour, doc_type="autre", label="Secret du voisin")
    elsewhere = FamilleFactory(name="AILLEURS")
    make_document(famille=elsewhere, doc_type="autre", label="Secret d'ailleurs")
    make_document(famille=family["famille"], doc_type="autre", label="Le mien")
    text = text_of(logged.get(url("porte_documents", family["commune"])))
    assert "Le mien" in text
    assert "Secret" not in text and "VOISIN" not in text and "AILLEURS" not in text


def test_the_list_reads_in_a_constant_number_of_queries(
    logged, family, django_assert_max_num_queries
):
    page = url("porte_documents", family["commune"])
    make_document(famille=family["famille"], doc_type="autre")
    logged.get(page)  # warm the session and caches
    with CaptureQueriesContext(connection) as one:
        assert logged.get(page).status_code == 200
    for doc_type in ("carnet_vaccination", "certificat_medical", "justificatif_domicile"):
        make_document(famille=family["famille"], doc_type=doc_type, personne=family["child"])
    make_document(famille=family["famille"], doc_type="autre", status="valide")
    make_document(famille=family["famille"], doc_type="autre", status="refuse")
    with django_assert_max_num_queries(len(one)):
        response = logged.get(page)
    assert text_of(response).count("État :") == 6


def test_an_account_without_family_is_told_how_to_link_one(client):
    citizen = CitizenFactory()
    client.force_login(citizen, backend=BACKEND)
    text = text_of(client.get(url("porte_documents", citizen.commune)))
    assert "Aucun foyer lié à votre espace" in text
    assert "Déposer le document" not in text
    text = text_of(client.get(url("document_ajouter", citizen.commune)))
    assert "reliez d'abord votre espace" in text


def test_the_list_asks_an_anonymous_visitor_to_log_in(client, family):
    response = client.get(url("porte_documents", family["commune"]))
    assert response.status_code == 302
    assert response["Location"].startswith(f"/{family['commune'].slug}/connexion/")


def test_the_home_tile_appears(logged, family):
    response = logged.get(reverse("accounts:accueil", kwargs={"commune": family["commune"].slug}))
    assert url("porte_documents", family["commune"]) in response.content.decode()


# --- Adding a document ----------------------------------------------------------------------------


def test_adding_a_document_stores_it_and_says_so(logged, family):
    response = logged.post(
        url("document_ajouter", family["commune"]),
        upload_post(
            family,
            doc_type="certificat_medical",
            personne=str(family["child"].pk),
            label="Certificat de Léa",
            document_date="2026-09-01",
        ),
    )
    document = Document.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("porte_documents", family["commune"]) + (
        f"#document-{document.pk}"
    )
    assert document.famille == family["famille"] and document.personne == family["child"]
    assert document.label == "Certificat de Léa" and document.uploaded_by == family["citizen"]
    assert document.document_date == date(2026, 9, 1)
    assert document.valid_until == date(2027, 9, 1)
    text = text_of(logged.get(response["Location"]))
    assert "« Certificat de Léa » est déposé dans votre espace de stockage sécurisé." in text
    assert "Certificat de Léa État : Déposé" in text


def test_the_type_in_the_address_is_preselected(logged, family):
    html = logged.get(
        url("document_ajouter", family["commune"], "?type=attestation_assurance")
    ).content.decode()
    assert '<option value="attestation_assurance" selected>' in html
    html = logged.get(url("porte_documents", family["commune"], "?type=jugement_garde")).text
    assert '<option value="jugement_garde" selected>' in html
    html = logged.get(url("document_ajouter", family["commune"], "?type=nimportequoi")).text
    assert "selected>" in html and 'value="nimportequoi"' not in html


def test_the_form_shows_the_date_fields_always_with_their_help(logged, family):
    text = text_of(logged.get(url("document_ajouter", family["commune"])))
    assert "Date du document (facultatif) Nécessaire pour un justificatif de domicile" in text
    assert "Année des revenus (facultatif) Nécessaire pour un avis d'imposition" in text
    assert "Personne concernée" in text and "Tout le foyer" in text
    assert "Léa DURAND" in text and "Françoise DURAND" in text


def test_a_missing_date_is_said_next_to_its_field_and_the_entries_stay(logged, family):
    before = stored_files()
    response = logged.post(
        url("document_ajouter", family["commune"]),
        upload_post(
            family,
            doc_type="justificatif_domicile",
            label="Facture d'eau",
            personne=str(family["parent"].pk),
        ),
    )
    assert response.status_code == 200
    assert "Indiquez la date du document" in field_errors(response, "document_date")
    html = response.content.decode()
    assert 'value="Facture d&#x27;eau"' in html
    assert '<option value="justificatif_domicile" selected>' in html
    assert f'<option value="{family["parent"].pk}" selected>' in html
    assert re.search(r'name="document_date"[^>]*aria-invalid="true"', html)
    assert re.search(r"<title>\s*Erreur :", html)
    assert not Document.objects.exists() and stored_files() == before


def test_an_income_year_is_needed_for_a_tax_notice(logged, family):
    response = logged.post(
        url("document_ajouter", family["commune"]), upload_post(family, doc_type="avis_imposition")
    )
    assert "Indiquez l'année des revenus" in field_errors(response, "income_year")
    response = logged.post(
        url("document_ajouter", family["commune"]),
        upload_post(family, doc_type="avis_imposition", income_year=str(date.today().year - 1)),
    )
    assert response.status_code == 302
    assert Document.objects.get().income_year == date.today().year - 1


# Each refusal of the content: its own message next to the file, nothing stored.
BAD_FILES = [
    (
        "programme.pdf",
        b"MZ\x90\x00\x03" + b"\x00" * 200,
        "n'est ni un PDF, ni une image JPEG ou PNG",
    ),
    ("vide.pdf", b"", "« vide.pdf » est vide."),
    ("IMG_0001.HEIC", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "photo HEIC (iPhone)"),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES)
def test_bad_content_is_refused_with_its_own_message(logged, family, name, content, message):
    before = stored_files()
    response = logged.post(
        url("document_ajouter", family["commune"]),
        upload_post(family, label="Mon fichier", fichier=SimpleUploadedFile(name, content)),
    )
    assert response.status_code == 200
    assert message in field_errors(response, "fichier")
    assert message in text_of(response)
    assert 'value="Mon fichier"' in response.content.decode()
    assert not Document.objects.exists() and stored_files() == before
    assert not AuditEntry.objects.filter(action="document.create").exists()


def test_an_oversize_file_is_refused(logged, family):
    before = stored_files()
    big = SimpleUploadedFile("gros.pdf", pdf_bytes(size=10 * 1024 * 1024 + 1))
    response = logged.post(
        url("document_ajouter", family["commune"]), upload_post(family, fichier=big)
    )
    assert "« gros.pdf » pèse 10,0\xa0Mio : 10 Mo au plus." in field_errors(response, "fichier")
    assert not Document.objects.exists() and stored_files() == before


def test_a_file_of_exactly_10_mb_is_accepted(logged, family):
    content = pdf_bytes(size=10 * 1024 * 1024)
    response = logged.post(
        url("document_ajouter", family["commune"]),
        upload_post(family, fichier=SimpleUploadedFile("juste.pdf", content)),
    )
    assert response.status_code == 302
    assert Document.objects.get().size == 10 * 1024 * 1024


def test_a_pdf_named_jpg_is_stored_as_the_pdf_it_is(logged, family):
    response = logged.post(
        url("document_ajouter", family["commune"]),
        upload_post(
            family, fichier=SimpleUploadedFile("photo.jpg", PDF, content_type="image/jpeg")
        ),
    )
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.content_type == "application/pdf" and document.file.name.endswith(".pdf")
    assert document.original_name == "photo.jpg" and document.label == "Autre"
    download = logged.get(url("document_telecharger", family["commune"], pk=document.pk))
    assert download["Content-Type"] == "application/pdf"
    assert 'filename="Autre.pdf"' in download["Content-Disposition"]


def test_a_full_store_refuses_with_its_own_message(logged, family, settings):
    settings.FAMILY_DOCUMENTS_QUOTA = len(PDF) + 100
    make_document(famille=family["famille"], doc_type="autre")  # len(PDF) bytes
    before = stored_files()
    response = logged.post(url("document_ajouter", family["commune"]), upload_post(family))
    assert (
        f"Votre espace de stockage est plein : {len(PDF)}\xa0octets utilisés sur "
        f"{len(PDF) + 100}\xa0octets."
    ) in (field_errors(response, "fichier"))
    assert Document.objects.count() == 1 and stored_files() == before


def test_an_account_of_two_families_chooses_among_its_own(logged, family):
    second = FamilleFactory(commune=family["commune"], name="LEROY")
    ines = ChildFactory(famille=second, first_names="Inès")
    FamilyAccessFactory(famille=second, user=family["citizen"])
    stranger = FamilleFactory(commune=family["commune"], name="INCONNUS")
    intruder = ChildFactory(famille=stranger, first_names="Intrus")
    page = url("document_ajouter", family["commune"])
    html = logged.get(page + f"?foyer={second.number}").content.decode()
    assert f'<option value="{second.pk}" selected>' in html
    assert "Foyer DURAND" in html and "INCONNUS" not in html and "Intrus" not in html
    assert re.search(r'<optgroup label="Foyer LEROY[^"]*">', html)
    # Inès of LEROY, in LEROY: stored there.
    response = logged.post(page, upload_post(family, famille=second.pk, personne=str(ines.pk)))
    assert response.status_code == 302
    assert Document.objects.get().famille == second
    # Inès with DURAND: refused next to the person.
    response = logged.post(page, upload_post(family, personne=str(ines.pk)))
    assert "pas du foyer choisi" in field_errors(response, "personne")
    # A family or a person the account is not linked to: not a choice.
    response = logged.post(page, upload_post(family, famille=stranger.pk))
    assert field_errors(response, "famille")
    response = logged.post(page, upload_post(family, personne=str(intruder.pk)))
    assert field_errors(response, "personne")
    assert Document.objects.count() == 1


def test_one_family_needs_no_family_choice(logged, family):
    html = logged.get(url("document_ajouter", family["commune"])).content.decode()
    assert f'<input type="hidden" name="famille" value="{family["famille"].pk}"' in html
    assert "<optgroup" not in html


# --- Download ------------------------------------------------------------------------------------


def test_download_is_an_attachment_named_after_the_document(logged, family):
    document = make_document(
        famille=family["famille"], doc_type="autre", label="Scan Léa",
        upload=SimpleUploadedFile("IMG.png", PNG),
    )  # fmt: skip
    response = logged.get(url("document_telecharger", family["commune"], pk=document.pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''Scan%20L%C3%A9a.png" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    ("label", "content_type", "expected"),
    [
        ("Avis 2026", "application/pdf", "Avis 2026.pdf"),
        ("avis.PDF", "application/pdf", "avis.pdf"),
        ('../../etc/passwd"\r\nX-Evil: 1', "application/pdf", "etc passwd X-Evil 1.pdf"),
        ("...", "image/jpeg", "document.jpg"),
        ("photo.jpg", "application/pdf", "photo.jpg.pdf"),
        ("A" * 300, "image/png", "A" * 100 + ".png"),
    ],
)
def test_download_filenames_are_safe(label, content_type, expected):
    assert download_filename(label, content_type) == expected


def test_a_hostile_label_cannot_break_the_header(logged, family):
    document = make_document(
        famille=family["famille"], doc_type="autre", label='a"b\r\nSet-Cookie: x'
    )
    response = logged.get(url("document_telecharger", family["commune"], pk=document.pk))
    assert response.status_code == 200
    assert "Set-Cookie" not in {key for key, _v in response.items()}
    assert response["Content-Disposition"] == 'attachment; filename="a b Set-Cookie x.pdf"'


# --- Rename --------------------------------------------------------------------------------------


def test_rename_through_its_page(logged, family):
    document = make_document(famille=family["famille"], doc_type="autre", label="Scan")
    page = url("document_renommer", family["commune"], pk=document.pk)
    assert 'value="Scan"' in logged.get(page).content.decode()
    response = logged.post(page, {"label": ""})
    assert "Indiquez le nouveau nom du document." in field_errors(response, "label")
    response = logged.post(page, {"label": "Attestation employeur"})
    assert response["Location"].endswith(f"#document-{document.pk}")
    document.refresh_from_db()
    assert document.label == "Attestation employeur"
    assert AuditEntry.objects.filter(action="document.rename", actor=family["citizen"]).exists()
    text = text_of(logged.get(response["Location"]))
    assert "Le document « Scan » s'appelle désormais « Attestation employeur »." in text


# --- Delete --------------------------------------------------------------------------------------


def test_delete_asks_first_then_deletes_row_and_file(
    logged, family, django_capture_on_commit_callbacks
):
    document = make_document(famille=family["famille"], doc_type="autre", label="Vieux scan")
    path = Path(document.file.path)
    page = url("document_supprimer", family["commune"], pk=document.pk)
    text = text_of(logged.get(page))
    assert "Supprimer « Vieux scan »" in text and "Cette action est définitive." in text
    assert "ont validé ce document" not in text
    assert Document.objects.exists() and path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = logged.post(page)
    assert response["Location"] == url("porte_documents", family["commune"])
    assert not Document.objects.exists() and not path.exists()
    assert AuditEntry.objects.filter(action="document.delete", actor=family["citizen"]).exists()
    assert "« Vieux scan » est supprimé" in text_of(logged.get(response["Location"]))


def test_a_validated_document_can_be_deleted_after_a_warning(
    logged, family, django_capture_on_commit_callbacks
):
    document = make_document(famille=family["famille"], doc_type="autre", status="valide")
    page = url("document_supprimer", family["commune"], pk=document.pk)
    text = text_of(logged.get(page))
    assert "Les services de la commune ont validé ce document." in text
    with django_capture_on_commit_callbacks(execute=True):
        logged.post(page)
    assert not Document.objects.exists()


def test_download_answers_405_to_a_post_of_its_owner(logged, family):
    document = make_document(famille=family["famille"], doc_type="autre")
    response = logged.post(url("document_telecharger", family["commune"], pk=document.pk))
    assert response.status_code == 405


# --- « Gérer mes informations », tab « Compte » ---------------------------------------------------


def mes_informations(commune) -> str:
    return reverse("accounts:mes_informations", kwargs={"commune": commune.slug})


def test_compte_lists_the_pieces_about_a_person_with_their_state(logged, family):
    make_document(
        famille=family["famille"], doc_type="carnet_vaccination", personne=family["child"],
        label="Carnet de Léa", status="valide",
    )  # fmt: skip
    make_document(
        famille=family["famille"], doc_type="jugement_garde", label="Jugement 2024",
        status="refuse",
    )  # fmt: skip
    make_document(famille=family["famille"], label="Avis 2026")  # avis d'imposition: not here
    make_document(famille=family["famille"], doc_type="autre", label="Divers")
    text = text_of(logged.get(mes_informations(family["commune"])))
    section = text[text.index("Pièces justificatives Les pièces") :]
    assert "Carnet de Léa Carnet de vaccination — Léa DURAND État : Validé" in section
    assert "Jugement 2024 Jugement relatif à la garde — Tout le foyer État : Refusé" in section
    assert "Motif du refus : Illisible" in section
    assert "Avis 2026" not in text and "Divers" not in text
    # The seed's warning, and a link to add each kind of piece.
    assert "Pour joindre l'avis d'imposition et autres documents administratifs" in section
    assert "Attention : ne pas utiliser les « Pièces justificatives »" in section
    html = logged.get(mes_informations(family["commune"])).content.decode()
    add = url("document_ajouter", family["commune"])
    for doc_type in ("carnet_vaccination", "certificat_medical", "attestation_assurance",
                     "jugement_garde", "piece_identite"):  # fmt: skip
        assert f'href="{add}?type={doc_type}&amp;foyer={family["famille"].number}"' in html


def test_compte_links_the_dossier_administratif_once_it_exists(logged, family, monkeypatch):
    from parvis.families import views_espace

    monkeypatch.setattr(views_espace, "url_if_exists", lambda name, slug, **kw: None)
    html = logged.get(mes_informations(family["commune"])).content.decode()
    assert "Cliquez sur « Créer une inscription »" in text_of_html(html)
    assert 'href="/inscriptions-ici/"' not in html
    monkeypatch.setattr(
        views_espace,
        "url_if_exists",
        lambda name, slug, **kw: "/inscriptions-ici/" if name == "inscriptions:index" else None,
    )
    html = logged.get(mes_informations(family["commune"])).content.decode()
    assert re.search(r'<a href="/inscriptions-ici/">« Créer une inscription »</a>', html)


def text_of_html(html: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'")


def test_compte_shows_the_current_quotient(logged, family):
    agent = AgentFactory(commune=family["commune"])
    today = date.today()
    record_quotient(
        famille=family["famille"],
        actor=agent,
        source=QfSource.CAF,
        value=Decimal("512.40"),
        valid_from=today - timedelta(days=400),
        valid_until=today - timedelta(days=1),
    )  # fmt: skip — expired: not the current one
    record_quotient(
        famille=family["famille"], actor=agent, source=QfSource.AVIS_IMPOSITION,
        value=Decimal("1234.56"), valid_from=today, valid_until=date(today.year + 1, 8, 31),
    )  # fmt: skip
    text = text_of(logged.get(mes_informations(family["commune"])))
    section = text[text.index("Quotient familial Quotient familial") :]
    assert section.startswith(
        "Quotient familial Quotient familial 1\xa0234,56 € Source Calculé à partir de l'avis "
        f"d'imposition Validité valable jusqu'au 31/08/{today.year + 1}"
    )
    assert "le tarif le plus élevé" not in text and "512,40" not in text


@pytest.mark.parametrize("expired", [False, True])
def test_compte_warns_without_a_valid_quotient(logged, family, expired):
    if expired:
        today = date.today()
        record_quotient(
            famille=family["famille"], actor=AgentFactory(commune=family["commune"]),
            source=QfSource.AGENT, value=Decimal("700"), valid_from=today - timedelta(days=30),
            valid_until=today - timedelta(days=1),
        )  # fmt: skip
    text = text_of(logged.get(mes_informations(family["commune"])))
    assert "Aucun quotient familial valable n'est connu pour votre foyer." in text
    assert "Sans quotient familial valable, le tarif le plus élevé s'applique" in text
    assert "joignez votre avis d'imposition ou votre attestation CAF" in text
    assert "700,00" not in text


def test_compte_reads_in_a_constant_number_of_queries(
    logged, family, django_assert_max_num_queries
):
    page = mes_informations(family["commune"])
    make_document(famille=family["famille"], doc_type="carnet_vaccination")
    logged.get(page)
    with CaptureQueriesContext(connection) as one:
        logged.get(page)
    for doc_type in ("certificat_medical", "attestation_assurance", "piece_identite", "autre"):
        make_document(famille=family["famille"], doc_type=doc_type, personne=family["child"])
    with django_assert_max_num_queries(len(one)):
        response = logged.get(page)
    assert text_of(response).count("État :") == 4


def test_compte_shows_each_households_own_quotient_as_current_quotient_picks_it(logged, family):
    from parvis.families.services import current_quotient

    agent = AgentFactory(commune=family["commune"])
    today = date.today()
    second = FamilleFactory(commune=family["commune"], name="LEROY")
    FamilyAccessFactory(famille=second, user=family["citizen"])
    # DURAND: two valid rows; the one valid from the latest day is the current one.
    record_quotient(
        famille=family["famille"], actor=agent, source=QfSource.AGENT, value=Decimal("300"),
        valid_from=today - timedelta(days=10), valid_until=today + timedelta(days=10),
    )  # fmt: skip
    record_quotient(
        famille=family["famille"], actor=agent, source=QfSource.CAF, value=Decimal("845.10"),
        valid_from=today - timedelta(days=2), valid_until=today,  # its last day
    )  # fmt: skip
    assert current_quotient(family["famille"]).value == Decimal("845.10")
    text = text_of(logged.get(mes_informations(family["commune"])))
    section = text[text.index("Quotient familial Foyer") : text.index("Pièces justificatives Les")]
    # Households in name order: DURAND has its QF, LEROY has none (and is told so).
    assert section.startswith(
        "Quotient familial Foyer DURAND Quotient familial 845,10 € Source Attestation CAF "
        f"Validité valable jusqu'au {today:%d/%m/%Y} Foyer LEROY Aucun quotient familial valable"
    )
    assert "300,00" not in section
