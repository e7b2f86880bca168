"""The porte-documents' services (store, rename, delete, review) and the validity rules per type:
what is stored and where, what is refused and that nothing is left of it, the review transitions
with their history, audit rows and the refusal e-mail, and when a document reads « expiré »."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.families.documents import MONTHS_VALID, add_months, valid_until
from parvis.families.models import (
    Document,
    DocumentEvent,
    DocumentStatus,
    DocumentType,
)
from parvis.families.services_documents import (
    NotAllowed,
    delete_document,
    rename_document,
    review_document,
    store_document,
    used_space,
    validate_documents,
)
from parvis.families.tests.factories import (
    AgentFactory,
    ChildFactory,
    FamilleFactory,
    FamilyAccessFactory,
    PersonneFactory,
    make_document,
    pdf_upload,
)
from parvis.testing.files import pdf_bytes

pytestmark = pytest.mark.django_db


def stored_files() -> set[Path]:
    root = Path(settings.PRIVATE_MEDIA_ROOT)
    return {path for path in root.rglob("*") if path.is_file()}


def storage_path(document) -> Path:
    return Path(document.file.path)


@pytest.fixture
def family():
    famille = FamilleFactory()
    parent = PersonneFactory(famille=famille, email="francoise@example.fr")
    child = ChildFactory(famille=famille, first_names="Léa")
    citizen = FamilyAccessFactory(famille=famille).user
    agent = AgentFactory(commune=famille.commune, roles=[AgentRole.Role.ADMINISTRATEUR])
    return {
        "famille": famille,
        "parent": parent,
        "child": child,
        "citizen": citizen,
        "agent": agent,
    }


# --- store_document -------------------------------------------------------------------------------


def test_store_keeps_the_file_under_a_random_name_with_its_checked_type(family):
    before = stored_files()
    document = store_document(
        famille=family["famille"],
        actor=family["citizen"],
        upload=pdf_upload("Carnet de Léa.jpg"),
        doc_type=DocumentType.CARNET_VACCINATION,
        personne=family["child"],
    )
    document.refresh_from_db()
    # The content decides: a PDF named .jpg is a PDF, stored as .pdf under our own name.
    assert document.content_type == "application/pdf"
    assert document.file.name.endswith(".pdf") and "Carnet" not in document.file.name
    assert document.original_name == "Carnet de Léa.jpg"
    assert document.label == f"Carnet de vaccination — {family['child']}"
    assert document.status == DocumentStatus.DEPOSE and document.valid_until is None
    assert document.size == len(pdf_bytes())
    assert stored_files() - before == {storage_path(document)}
    assert storage_path(document).is_relative_to(settings.PRIVATE_MEDIA_ROOT)
    entry = AuditEntry.objects.get(action="document.create")
    assert entry.actor == family["citizen"] and entry.famille_id == family["famille"].pk
    assert entry.target_id == str(document.pk)
    assert entry.changes["doc_type"] == [None, "carnet_vaccination"]


def test_store_computes_the_validity_from_the_dates(family):
    domicile = make_document(
        famille=family["famille"],
        doc_type=DocumentType.JUSTIFICATIF_DOMICILE,
        document_date=date(2025, 11, 30),
    )
    assert domicile.valid_until == date(2026, 2, 28)
    assert domicile.income_year is None
    avis = make_document(famille=family["famille"], income_year=date.today().year - 1)
    assert avis.valid_until == date(date.today().year + 1, 8, 31)
    assert avis.document_date is None


@pytest.mark.parametrize(
    ("doc_type", "dates", "field", "message"),
    [
        (
            DocumentType.JUSTIFICATIF_DOMICILE,
            {},
            "document_date",
            "Indiquez la date du document",
        ),
        (
            DocumentType.CERTIFICAT_MEDICAL,
            {"document_date": date.today() + timedelta(days=1)},
            "document_date",
            "ne peut pas être dans le futur",
        ),
        (DocumentType.AVIS_IMPOSITION, {}, "income_year", "Indiquez l'année des revenus"),
        (
            DocumentType.AVIS_IMPOSITION,
            {"income_year": date.today().year},
            "income_year",
            "doit être comprise entre",
        ),
    ],
)
def test_store_refuses_missing_or_implausible_dates(family, doc_type, dates, field, message):
    before = stored_files()
    with pytest.raises(ValidationError) as error:
        store_document(
            famille=family["famille"],
            actor=family["citizen"],
            upload=pdf_upload(),
            doc_type=doc_type,
            **dates,
        )
    assert message in error.value.message_dict[field][0]
    assert not Document.objects.exists() and stored_files() == before


def test_store_refuses_a_person_of_another_household(family):
    stranger = ChildFactory(famille=FamilleFactory(commune=family["famille"].commune))
    with pytest.raises(ValidationError) as error:
        store_document(
            famille=family["famille"],
            actor=family["citizen"],
            upload=pdf_upload(),
            doc_type=DocumentType.CARNET_VACCINATION,
            personne=stranger,
        )
    assert "personne" in error.value.message_dict
    assert not Document.objects.exists()


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00", "type"),
        (b"", "empty"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heic"),
    ],
)
def test_store_refuses_what_is_not_a_pdf_jpeg_or_png(family, content, code):
    before = stored_files()
    with pytest.raises(ValidationError) as error:
        store_document(
            famille=family["famille"],
            actor=family["citizen"],
            upload=SimpleUploadedFile("scan.pdf", content),
            doc_type=DocumentType.AUTRE,
        )
    assert error.value.code == code
    assert not Document.objects.exists() and stored_files() == before
    assert not AuditEntry.objects.filter(action="document.create").exists()


def test_store_refuses_beyond_the_family_quota_and_counts_per_family(family, settings):
    content = pdf_bytes(size=700)
    settings.FAMILY_DOCUMENTS_QUOTA = 1400
    make_document(famille=family["famille"], doc_type="autre", upload=pdf_upload(content=content))
    make_document(famille=family["famille"], doc_type="autre", upload=pdf_upload(content=content))
    assert used_space(family["famille"]) == 1400  # exactly the quota: allowed
    before = stored_files()
    with pytest.raises(ValidationError) as error:
        store_document(
            famille=family["famille"],
            actor=family["citizen"],
            upload=pdf_upload(),
            doc_type=DocumentType.AUTRE,
        )
    assert error.value.code == "quota"
    assert (
        "Votre espace de stockage est plein : 1,4\xa0Kio utilisés sur 1,4\xa0Kio"
        in (error.value.messages[0])
    )
    assert Document.objects.count() == 2 and stored_files() == before
    # Another family of the same commune has its own quota.
    other = FamilleFactory(commune=family["famille"].commune)
    make_document(famille=other, doc_type="autre", upload=pdf_upload(content=content))


# --- rename, delete -------------------------------------------------------------------------------


def test_rename_changes_the_label_only_and_is_audited(family):
    document = make_document(famille=family["famille"], doc_type="autre", label="Scan")
    name = document.file.name
    rename_document(document=document, actor=family["citizen"], label="  Attestation 2026  ")
    document.refresh_from_db()
    assert document.label == "Attestation 2026" and document.file.name == name
    entry = AuditEntry.objects.get(action="document.rename")
    assert entry.changes == {"label": ["Scan", "Attestation 2026"]}
    # Blank or unchanged: nothing written.
    rename_document(document=document, actor=family["citizen"], label="   ")
    rename_document(document=document, actor=family["citizen"], label="Attestation 2026")
    document.refresh_from_db()
    assert document.label == "Attestation 2026"
    assert AuditEntry.objects.filter(action="document.rename").count() == 1


def test_rename_cuts_a_long_label_to_the_field(family):
    document = make_document(famille=family["famille"], doc_type="autre")
    rename_document(document=document, actor=family["citizen"], label="A" * 300)
    document.refresh_from_db()
    assert document.label == "A" * 120


def test_delete_removes_the_row_then_the_file_once_committed(
    family, django_capture_on_commit_callbacks
):
    document = make_document(famille=family["famille"], doc_type="autre")
    path = storage_path(document)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        delete_document(document=document, actor=family["citizen"])
    assert not Document.objects.exists()
    assert path.exists()  # not before the commit
    for callback in callbacks:
        callback()
    assert not path.exists()
    entry = AuditEntry.objects.get(action="document.delete")
    assert entry.changes["label"][1] is None and entry.famille_id == family["famille"].pk


def test_a_rolled_back_delete_keeps_row_and_file(family, django_capture_on_commit_callbacks):
    document = make_document(famille=family["famille"], doc_type="autre")
    path, pk = storage_path(document), document.pk
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        delete_document(document=document, actor=family["citizen"])
        raise RuntimeError("rollback")
    assert Document.objects.filter(pk=pk).exists() and path.exists()


# --- review_document -----------------------------------------------------------------------------


def test_validation_records_history_and_audit(family):
    document = make_document(famille=family["famille"], doc_type="autre")
    review_document(document=document, actor=family["agent"], to=DocumentStatus.VALIDE)
    document.refresh_from_db()
    assert document.status == DocumentStatus.VALIDE
    assert document.reviewed_by == family["agent"] and document.reviewed_at is not None
    event = DocumentEvent.objects.get(document=document)
    assert (event.from_status, event.to_status, event.actor) == (
        "depose",
        "valide",
        family["agent"],
    )
    entry = AuditEntry.objects.get(action="document.review")
    assert entry.changes == {"status": ["depose", "valide"]} and entry.actor == family["agent"]
    assert not mail.outbox


def test_refusal_needs_a_reason_and_changes_nothing_without(family):
    document = make_document(famille=family["famille"], doc_type="autre")
    with pytest.raises(ValidationError) as error:
        review_document(document=document, actor=family["agent"], to="refuse", reason="   ")
    assert "motif du refus" in error.value.message_dict["reason"][0]
    document.refresh_from_db()
    assert document.status == DocumentStatus.DEPOSE
    assert not DocumentEvent.objects.exists()
    assert not AuditEntry.objects.filter(action="document.review").exists()


def test_refusal_mails_the_reason_to_who_deposited_it(family, django_capture_on_commit_callbacks):
    document = make_document(
        famille=family["famille"], doc_type="autre", actor=family["citizen"], label="Scan flou"
    )
    with django_capture_on_commit_callbacks(execute=True):
        review_document(
            document=document, actor=family["agent"], to="refuse", reason="Illisible, rescannez."
        )
    document.refresh_from_db()
    assert document.status == DocumentStatus.REFUSE
    assert document.refusal_reason == "Illisible, rescannez."
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [family["citizen"].email]
    assert "document refusé : Scan flou" in message.subject
    assert "Motif du refus : Illisible, rescannez." in message.body
    assert "/mon-espace/documents/" in message.body
    event = DocumentEvent.objects.get(document=document)
    assert event.to_status == "refuse" and event.comment == "Illisible, rescannez."
    entry = AuditEntry.objects.get(action="document.review")
    assert entry.changes["reason"] == [None, "Illisible, rescannez."]


def test_no_mail_while_the_refusal_is_not_committed(family, django_capture_on_commit_callbacks):
    document = make_document(famille=family["famille"], doc_type="autre")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        review_document(document=document, actor=family["agent"], to="refuse", reason="Flou")
    assert not mail.outbox and len(callbacks) == 1


@pytest.mark.parametrize(
    ("start", "to", "allowed"),
    [
        ("depose", "valide", True),
        ("depose", "refuse", True),
        ("valide", "refuse", True),
        ("valide", "valide", False),
        ("refuse", "valide", False),
        ("refuse", "refuse", False),
        ("depose", "depose", False),
        ("depose", "expire", False),
    ],
)
def test_the_transition_table(family, start, to, allowed):
    document = make_document(famille=family["famille"], doc_type="autre", status=start)
    events = DocumentEvent.objects.count()
    if allowed:
        review_document(document=document, actor=family["agent"], to=to, reason="Motif")
        document.refresh_from_db()
        assert document.status == to
        assert DocumentEvent.objects.count() == events + 1
    else:
        with pytest.raises(NotAllowed):
            review_document(document=document, actor=family["agent"], to=to, reason="Motif")
        document.refresh_from_db()
        assert document.status == start
        assert DocumentEvent.objects.count() == events


def test_bulk_validation_leaves_the_refused_alone(family):
    deposited = make_document(famille=family["famille"], doc_type="autre")
    refused = make_document(famille=family["famille"], doc_type="autre", status="refuse")
    done = validate_documents(documents=[deposited, refused], actor=family["agent"])
    assert [d.pk for d in done] == [deposited.pk]
    refused.refresh_from_db()
    deposited.refresh_from_db()
    assert (deposited.status, refused.status) == ("valide", "refuse")


# --- Expiry ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dated", "last_day"),
    [
        (date(2026, 5, 15), date(2026, 8, 15)),
        (date(2025, 11, 30), date(2026, 2, 28)),  # no 30 February: the month's last day
        (date(2023, 11, 30), date(2024, 2, 29)),  # leap year
        (date(2025, 10, 31), date(2026, 1, 31)),
        (date(2025, 12, 31), date(2026, 3, 31)),  # over the year's end
    ],
)
def test_a_proof_of_address_counts_three_months_then_reads_expired(family, dated, last_day):
    document = make_document(
        famille=family["famille"],
        doc_type=DocumentType.JUSTIFICATIF_DOMICILE,
        document_date=dated,
    )
    assert document.valid_until == last_day
    assert document.state(last_day) == DocumentStatus.DEPOSE
    assert document.state(last_day + timedelta(days=1)) == DocumentStatus.EXPIRE
    assert document.state_label(last_day + timedelta(days=1)) == "Expiré"
    validated = make_document(
        famille=family["famille"],
        doc_type=DocumentType.JUSTIFICATIF_DOMICILE,
        document_date=dated,
        status="valide",
    )
    assert validated.state(last_day) == DocumentStatus.VALIDE
    assert validated.state(last_day + timedelta(days=1)) == DocumentStatus.EXPIRE


def test_a_refused_document_stays_refused_after_its_validity(family):
    document = make_document(
        famille=family["famille"],
        doc_type=DocumentType.JUSTIFICATIF_DOMICILE,
        document_date=date(2025, 11, 30),
        status="refuse",
    )
    assert document.state(date(2030, 1, 1)) == DocumentStatus.REFUSE


def test_a_tax_notice_counts_until_31_august_two_years_after_the_incomes(family):
    year = date.today().year - 1
    document = make_document(famille=family["famille"], income_year=year)
    assert document.valid_until == date(year + 2, 8, 31)
    assert document.state(date(year + 2, 8, 31)) == DocumentStatus.DEPOSE
    assert document.state(date(year + 2, 9, 1)) == DocumentStatus.EXPIRE


@pytest.mark.parametrize(
    "doc_type",
    [
        DocumentType.PIECE_IDENTITE,
        DocumentType.CARNET_VACCINATION,
        DocumentType.JUGEMENT_GARDE,
        DocumentType.AUTRE,
    ],
)
def test_documents_without_a_validity_never_expire(family, doc_type):
    document = make_document(famille=family["famille"], doc_type=doc_type)
    assert document.valid_until is None
    assert document.state(date(2100, 1, 1)) == DocumentStatus.DEPOSE


days = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


@given(day=days, months=st.integers(min_value=0, max_value=120))
def test_add_months_lands_in_the_right_month_on_the_same_or_last_day(day, months):
    result = add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    if result.day != day.day:
        # Only when the month is too short: then its last day.
        assert result.day < day.day
        assert (result + timedelta(days=1)).month != result.month
    if day.day <= 28:
        assert result.day == day.day


@given(first=days, second=days, months=st.integers(min_value=0, max_value=24))
def test_add_months_keeps_the_order_of_days(first, second, months):
    if first <= second:
        assert add_months(first, months) <= add_months(second, months)


@given(day=days, doc_type=st.sampled_from(sorted(MONTHS_VALID)))
def test_a_dated_document_counts_at_least_its_months_and_at_most_a_few_days_more(day, doc_type):
    last = valid_until(doc_type, document_date=day, income_year=None)
    months = MONTHS_VALID[doc_type]
    assert last == add_months(day, months)
    assert last > day
    # Never more than `months` calendar months.
    assert (last - day).days <= months * 31
    assert (last - day).days >= months * 28


@given(year=st.integers(min_value=1990, max_value=2100), dated=days)
def test_a_tax_notice_validity_depends_on_the_income_year_only(year, dated):
    last = valid_until(DocumentType.AVIS_IMPOSITION, document_date=dated, income_year=year)
    assert last == date(year + 2, 8, 31)
    assert valid_until(DocumentType.AVIS_IMPOSITION, document_date=dated, income_year=None) is None
