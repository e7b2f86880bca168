"""Demo documents (issue 5): Carrières-sous-Poissy's administrative file for the current school
year, and the DURAND family's store — a validated tax notice with the QF computed from it, an
expired proof of address, and an insurance certificate waiting for an agent. Idempotent: rows are
found again by family, type and name; a file missing from private storage is written again.

The files are small real PDFs written here (no binary in the repository)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from parvis.accounts.models import User
from parvis.communes.models import Commune, Service
from parvis.families.documents import add_months, school_year_of, valid_until
from parvis.families.models import (
    Document,
    DocumentEvent,
    DocumentStatus,
    DocumentType,
    Famille,
    MemberKind,
    Provider,
    QfSource,
    QuotientFamilial,
    RequiredDocument,
)
from parvis.families.quotient import compute_qf, number_of_parts

# The DURAND household's figures: RFR and the monthly family allowance for two children.
DURAND_TAXABLE_INCOME = Decimal("38400")
DURAND_MONTHLY_BENEFITS = Decimal("151.05")

REQUIREMENTS = [
    # (type, who provides it, help for the families)
    (
        DocumentType.AVIS_IMPOSITION,
        Provider.FOYER,
        "L'avis d'imposition de l'année précédente (toutes les pages) : il sert au calcul de "
        "votre quotient familial.",
    ),
    (
        DocumentType.JUSTIFICATIF_DOMICILE,
        Provider.FOYER,
        "Facture d'électricité, de gaz, d'eau ou quittance de loyer de moins de 3 mois.",
    ),
    (
        DocumentType.ATTESTATION_ASSURANCE,
        Provider.ENFANT,
        "Responsabilité civile et individuelle accident de l'enfant pour l'année scolaire.",
    ),
]


def pdf_bytes(*lines: str) -> bytes:
    """A one-page PDF showing `lines` (Latin-1 text in Helvetica): enough for a real preview."""
    text = ["BT", "/F1 14 Tf", "60 780 Td", "18 TL"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        text.append(f"({escaped}) '")
    text.append("ET")
    stream = "\n".join(text).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _document(
    famille: Famille,
    *,
    doc_type: str,
    label: str,
    lines: list[str],
    status: str,
    personne=None,
    service: Service | None = None,
    document_date: date | None = None,
    income_year: int | None = None,
    uploaded_at: datetime,
    uploaded_by: User | None = None,
    reviewer: User | None = None,
) -> Document:
    document = Document.objects.filter(famille=famille, doc_type=doc_type, label=label).first()
    content = pdf_bytes(*lines)
    if document is None:
        document = Document(
            commune=famille.commune, famille=famille, doc_type=doc_type, label=label
        )
    storage = Document._meta.get_field("file").storage
    if not document.file or not storage.exists(document.file.name):
        document.file.save(
            f"demo-{famille.commune.slug}-{doc_type}.pdf", ContentFile(content), save=False
        )
    document.personne = personne
    document.service = service
    document.original_name = f"{label}.pdf"
    document.content_type = "application/pdf"
    document.size = len(content)
    document.document_date = document_date
    document.income_year = income_year
    document.valid_until = valid_until(
        doc_type, document_date=document_date, income_year=income_year
    )
    document.status = status
    document.uploaded_by = uploaded_by
    document.reviewed_by = reviewer if status != DocumentStatus.DEPOSE else None
    document.reviewed_at = (
        uploaded_at + timedelta(days=2) if reviewer and status != DocumentStatus.DEPOSE else None
    )
    document.save()
    Document.objects.filter(pk=document.pk).update(uploaded_at=uploaded_at)
    if status != DocumentStatus.DEPOSE and not document.events.exists():
        DocumentEvent.objects.create(
            document=document, from_status=DocumentStatus.DEPOSE, to_status=status, actor=reviewer
        )
    return document


def _load_carrieres_sous_poissy(commune: Commune, today: date) -> None:
    enfance = Service.objects.get(commune=commune, kind="enfance")
    year = school_year_of(today)
    for position, (doc_type, provider, help_text) in enumerate(REQUIREMENTS):
        RequiredDocument.objects.update_or_create(
            commune=commune,
            school_year=year,
            doc_type=doc_type,
            provider=provider,
            defaults={"service": enfance, "help_text": help_text, "position": position},
        )

    durand = Famille.objects.get(commune=commune, number=1)
    parent = User.objects.get(username="carrieres-sous-poissy/francoise.durand")
    agent = User.objects.get(username="csp-enfance")
    lea = durand.members.get(kind=MemberKind.ENFANT, first_names="Léa")
    income_year = year - 1
    notice_day = date(year, 7, 10)
    _document(
        durand,
        doc_type=DocumentType.AVIS_IMPOSITION,
        label=f"Avis d'imposition {year} (revenus {income_year})",
        lines=[
            f"AVIS D'IMPOT {year} SUR LES REVENUS DE L'ANNEE {income_year}",
            "Foyer fiscal : M. et Mme DURAND Marc et Françoise",
            f"Revenu fiscal de référence : {DURAND_TAXABLE_INCOME} EUR",
            "Nombre de parts : 3",
            "Document de démonstration Parvis",
        ],
        status=DocumentStatus.VALIDE,
        service=enfance,
        income_year=income_year,
        uploaded_at=datetime.combine(
            notice_day, datetime.min.time(), tzinfo=timezone.get_current_timezone()
        ),
        uploaded_by=parent,
        reviewer=agent,
    )
    # Dated so that it expired a little over a month ago: the file asks for a new one.
    bill_day = add_months(today, -4)
    _document(
        durand,
        doc_type=DocumentType.JUSTIFICATIF_DOMICILE,
        label="Facture d'électricité",
        lines=[
            "FACTURE D'ELECTRICITE",
            "M. et Mme DURAND - 12, rue de l'Église - 78955 Carrières-sous-Poissy",
            f"Date de facture : {bill_day:%d/%m/%Y}",
            "Document de démonstration Parvis",
        ],
        status=DocumentStatus.VALIDE,
        service=enfance,
        document_date=bill_day,
        uploaded_at=datetime.combine(
            bill_day, datetime.min.time(), tzinfo=timezone.get_current_timezone()
        )
        + timedelta(days=3),
        uploaded_by=parent,
        reviewer=agent,
    )
    waiting_day = today - timedelta(days=2)
    _document(
        durand,
        doc_type=DocumentType.ATTESTATION_ASSURANCE,
        label="Attestation d'assurance scolaire — Léa",
        lines=[
            f"ATTESTATION D'ASSURANCE SCOLAIRE {year}-{year + 1}",
            "Assurée : Léa DURAND, née le 14/03/2022",
            "Responsabilité civile et individuelle accident",
            "Document de démonstration Parvis",
        ],
        status=DocumentStatus.DEPOSE,
        personne=lea,
        service=enfance,
        document_date=waiting_day,
        uploaded_at=datetime.combine(
            waiting_day, datetime.min.time(), tzinfo=timezone.get_current_timezone()
        ),
        uploaded_by=parent,
    )
    parts = number_of_parts(commune.qf_parts_rules, couple=True, children=2)
    QuotientFamilial.objects.update_or_create(
        famille=durand,
        source=QfSource.AVIS_IMPOSITION,
        valid_from=date(year, 9, 1),
        defaults={
            "commune": commune,
            "value": compute_qf(
                annual_taxable_income=DURAND_TAXABLE_INCOME,
                monthly_benefits=DURAND_MONTHLY_BENEFITS,
                parts=parts,
            ),
            "valid_until": date(year + 1, 8, 31),
            "details": {
                "annual_taxable_income": str(DURAND_TAXABLE_INCOME),
                "monthly_benefits": str(DURAND_MONTHLY_BENEFITS),
                "couple": True,
                "children": 2,
                "parts": str(parts),
            },
            "created_by": agent,
        },
    )


@transaction.atomic
def load(today: date | None = None) -> None:
    today = today or timezone.localdate()
    _load_carrieres_sous_poissy(Commune.objects.get(slug="carrieres-sous-poissy"), today)
