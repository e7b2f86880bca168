"""The PDFs of billing, read back as text: an invoice says who bills whom, every line and where
its amount comes from, what is paid and due and how to pay, or « Facture réglée : 73,80 € »; a
printing batch puts each invoice on its own page in one rendering; a receipt lists the invoices
it settled (« ANNULÉ » once cancelled); the tax certificate counts, to the cent, what was paid in
the year for the childcare of the children under 6; the attendance certificate counts the days
present per unit; and nothing is fetched while rendering."""

from datetime import date
from decimal import Decimal as D

import pytest

from parvis.activities.models import (
    Absence,
    ActivityClosure,
    Attendance,
    BookingStatus,
    Reservation,
    Unit,
)
from parvis.billing import pdf
from parvis.billing import selectors_documents as selectors
from parvis.billing.models import InvoiceKind, LineKind, PaymentMethod
from parvis.billing.services import cancel_invoice, cancel_payment, record_payment
from parvis.billing.tests.test_pdf_support import (
    line,
    make_invoice,
    make_world,
    page_count,
    pay,
    pdf_text,
)
from parvis.families.tests.factories import AgentFactory, ChildFactory, FamilleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return make_world()


def stay_invoice(world):
    """The seed's « CLASSES TRANSPLANTÉES — 7916 - Séjour CT 3 (Ecole du PARC) »."""
    return make_invoice(
        world,
        [line(LineKind.SEJOUR, "Séjour CT 3 (Ecole du PARC)", 1, "73.80", child=world.hugo)],
        kind=InvoiceKind.UNIQUE,
        category="CLASSES TRANSPLANTÉES",
        label="Séjour CT 3 (Ecole du PARC)",
    )


# --- Invoices -----------------------------------------------------------------------------------


def test_an_invoice_says_who_what_every_line_the_totals_and_how_to_pay(world):
    invoice = make_invoice(world)
    pay(world, invoice, "50.00", date(2026, 3, 30))
    content = pdf.invoice_pdf(invoice)
    assert content.startswith(b"%PDF-")
    assert page_count(content) == 1
    text = pdf_text(content)
    for words in [
        # the commune and the régie: payee, address, contact
        "Mairie de Villebois", "Régie enfance", "2, place de la Mairie", "78000 Villebois",
        "Tél. 01 23 45 67 10", "regie@example.fr",
        # the family, its code and the responsable's postal address
        "Madame Françoise DURAND", "3, rue des Écoles", "78955",
        f"Code famille : {invoice.famille.reference}",
        f"Facture n° {invoice.number}", "Objet : Facture de mars 2026",
        "Période : du 01/03/2026 au 28/03/2026",
        "Émise le 28/03/2026 — à régler avant le 28/03/2026", "État : Partiellement réglée",
        # every line: child, label, bracket, days × unit price, amount (17 × 4,15 = 70,55)
        "Léa Acc Matin — QF de 1 000 € à 1 199,99 € 17 × 4,15 € 70,55 €",
        "Léa Restauration 17 × 3,20 € 54,40 €",
        "Léa Présence sans réservation 1 × 10,00 € 10,00 €",
        "Léa Déduction : Absence justifiée déduite 2 × -4,15 € -8,30 €",
        "Hugo Acc Soir 10 × 2,50 € 25,00 €",
        "Total : 151,65 €", "Déjà réglé : 50,00 €", "Reste à régler : 101,65 €",
        # the means of payment: online, and at the régie
        "Comment payer", "En ligne par carte bancaire", "Espèces, Chèque, CESU, Virement",
        "chèque à l'ordre de « Régie enfance de Villebois »",
    ]:  # fmt: skip
        assert words in text, words
    assert "Facture réglée" not in text
    context = pdf.invoice_context(invoice)
    assert context["portal_url"] == "http://testserver/villebois/mon-espace/factures/"


def test_the_seeds_settled_stay_says_facture_reglee_and_no_longer_how_to_pay(world):
    invoice = stay_invoice(world)
    pay(world, invoice, "73.80", date(2026, 3, 30), method=PaymentMethod.CHEQUE)
    text = pdf_text(pdf.invoice_pdf(invoice))
    assert "Facture réglée : 73,80 €" in text
    assert "Rubrique : CLASSES TRANSPLANTÉES" in text
    assert "Objet : Séjour CT 3 (Ecole du PARC)" in text
    assert "Reste à régler : 0,00 €" in text
    assert "Comment payer" not in text


def test_a_cancelled_invoice_says_so(world):
    invoice = make_invoice(world)
    agent = AgentFactory(commune=world.commune)
    cancel_invoice(invoice=invoice, actor=agent, reason="Erreur de saisie")
    text = pdf_text(pdf.invoice_pdf(invoice))
    assert "FACTURE ANNULÉE" in text
    assert "Comment payer" not in text


def test_a_printing_batch_puts_each_invoice_on_its_own_page_in_one_rendering(
    world, monkeypatch, django_assert_num_queries
):
    invoices = [make_invoice(world, number_month=month) for month in (3, 4, 5)]
    other = FamilleFactory(commune=world.commune, name="MARTIN")
    world.famille = other
    invoices.append(make_invoice(world, number_month=3))
    renderings = []
    real = pdf.pdf_reportlab._build
    monkeypatch.setattr(
        pdf.pdf_reportlab, "_build", lambda *a, **k: renderings.append(a) or real(*a, **k)
    )
    order = [invoices[2], invoices[0], invoices[3], invoices[1]]
    # Four queries whatever the number: the invoices, their lines, the responsables, and the
    # families' SEPA mandates (« prélevé le … », issue 19).
    with django_assert_num_queries(4):
        content = pdf.invoices_pdf(order)
    assert len(renderings) == 1
    assert page_count(content) == 4
    text = pdf_text(content)
    positions = [text.index(f"Facture n° {invoice.number} ") for invoice in order]
    assert positions == sorted(positions)
    assert "Famille MARTIN" in text  # a family without a responsable is still addressed


# --- Receipts -----------------------------------------------------------------------------------


def test_a_receipt_lists_the_invoices_it_settled_and_the_regie(world):
    march = make_invoice(world)
    stay = stay_invoice(world)
    payment = record_payment(
        regie=world.regie,
        famille=world.famille,
        allocations=[(march, D("100.00")), (stay, D("73.80"))],
        method=PaymentMethod.CHEQUE,
        received_on=date(2026, 4, 2),
        reference="Chèque n° 1234567",
        actor=None,
    )
    text = pdf_text(pdf.receipt_pdf(payment))
    for words in [
        f"Reçu de paiement n° {payment.number}", "Reçu le 02/04/2026",
        "Mode de paiement : Chèque", "Référence : Chèque n° 1234567", "Montant reçu : 173,80 €",
        f"n° {march.number} Facture de mars 2026 100,00 €",
        f"n° {stay.number} CLASSES TRANSPLANTÉES — Séjour CT 3 (Ecole du PARC) 73,80 €",
        "La Régie enfance certifie avoir reçu la somme de 173,80 €.", "Madame Françoise DURAND",
    ]:  # fmt: skip
        assert words in text, words
    assert "ANNULÉ" not in text


def test_a_cancelled_payments_receipt_says_annule_with_the_reason(world):
    payment = pay(world, make_invoice(world), "20.00", date(2026, 4, 2))
    agent = AgentFactory(commune=world.commune)
    cancel_payment(payment=payment, actor=agent, reason="Chèque sans provision")
    text = pdf_text(pdf.receipt_pdf(payment))
    assert "ANNULÉ" in text
    assert "Chèque sans provision" in text
    assert "ne vaut pas quittance" in text


# --- The certificate for the tax credit ---------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "counted"),
    [
        (date(2020, 1, 1), True),  # 6 on 1 January 2026, born in 2020: counted (« nés à compter »)
        (date(2019, 12, 31), False),
        (date(2026, 6, 1), True),  # born during the year
        (None, False),  # no birth date, no proof of age
    ],
)
def test_who_is_under_six_for_the_2026_certificate(world, born, counted):
    child = ChildFactory(famille=world.famille, birth_date=born)
    assert selectors.under_six_on_first_january(child, 2026) is counted


def paid_year(world):
    """Léa's 2026 childcare: March's invoice (151,65 €, Léa's childcare 70,55 − 8,30 = 62,25 €)
    paid 50 € twice, April's (41,50 €, all childcare) paid in full on 31 December; May's paid on
    1 January 2027; June's paid then cancelled; a payment of another family."""
    lea = world.lea
    march = make_invoice(world)
    pay(world, march, "50.00", date(2026, 3, 30))
    pay(world, march, "50.00", date(2026, 4, 10))
    april = make_invoice(
        world,
        [line(LineKind.PRESTATION, "Acc Matin", 10, "4.15", child=lea, childcare=True)],
        number_month=4,
    )
    pay(world, april, "41.50", date(2026, 12, 31))
    may = make_invoice(
        world,
        [line(LineKind.PRESTATION, "Acc Matin", 2, "4.15", child=lea, childcare=True)],
        number_month=5,
    )
    pay(world, may, "8.30", date(2027, 1, 1))
    june = make_invoice(
        world,
        [line(LineKind.PRESTATION, "Acc Matin", 3, "4.15", child=lea, childcare=True)],
        number_month=6,
    )
    cancelled = pay(world, june, "12.45", date(2026, 6, 15))
    cancel_payment(payment=cancelled, actor=AgentFactory(commune=world.commune), reason="Erreur")
    famille = world.famille
    other = FamilleFactory(commune=world.commune, name="MARTIN")
    other_child = ChildFactory(famille=other, birth_date=date(2022, 1, 1))
    world.famille = other
    other_invoice = make_invoice(
        world,
        [line(LineKind.PRESTATION, "Acc Matin", 5, "4.15", child=other_child, childcare=True)],
    )
    pay(world, other_invoice, "20.75", date(2026, 5, 5))
    world.famille = famille


def test_the_tax_certificate_counts_the_childcare_paid_in_the_year_to_the_cent(world):
    paid_year(world)
    certificate = selectors.tax_certificate(famille=world.famille, year=2026)
    # 50 × 62,25 / 151,65 twice = 41,0484…, plus 41,50: 82,5484… → 82,55 € (rounded once: per
    # payment it would be 20,52 + 20,52 + 41,50 = 82,54 €). Hugo (born 2017) is not counted;
    # meals, the penalty, 2027's payment, the cancelled one and the other family's are not.
    assert [(c.child, c.amount) for c in certificate.children] == [(world.lea, D("82.55"))]
    assert certificate.total == D("82.55")
    assert certificate.regies == [world.regie]
    following = selectors.tax_certificate(famille=world.famille, year=2027)
    assert [c.amount for c in following.children] == [D("8.30")]


def test_credits_larger_than_the_care_paid_count_nothing(world):
    lea = world.lea
    invoice = make_invoice(
        world,
        [
            line(LineKind.PRESTATION, "Restauration", 10, "3.20", child=lea),
            line(LineKind.DEDUCTION, "Absence justifiée déduite", 2, "-4.15", child=lea,
                 childcare=True),
        ],
    )  # fmt: skip
    pay(world, invoice, "23.70", date(2026, 3, 30))
    certificate = selectors.tax_certificate(famille=world.famille, year=2026)
    assert [c.amount for c in certificate.children] == [D("0.00")]


def test_the_tax_certificate_pdf(world):
    paid_year(world)
    text = pdf_text(pdf.tax_certificate_pdf(famille=world.famille, year=2026))
    for words in [
        "Attestation de frais de garde — année 2026",
        "crédit d'impôt pour frais de garde des enfants de moins de 6 ans",
        "Mairie de Villebois", "Régie enfance", "2, place de la Mairie",
        "Madame Françoise DURAND", "3, rue des Écoles",
        "Léa DURAND 10/03/2021 82,55 €", "Total 82,55 €", "Le régisseur",
    ]:  # fmt: skip
        assert words in text, words
    assert "Hugo" not in text


# --- The attendance certificate -----------------------------------------------------------------


def test_the_attendance_certificate_counts_the_days_present_per_unit(world):
    commune, lea, matin = world.commune, world.lea, world.unit
    soir = Unit.objects.create(
        commune=commune, activity=matin.activity, code="PERI_PM_M", label="Acc Soir",
        starts_at="16:30", ends_at="18:30", weekdays=[0, 1, 3, 4], position=1,
    )  # fmt: skip

    def booked(unit, day, status=BookingStatus.RESERVEE):
        Reservation.objects.create(
            commune=commune, famille=world.famille, child=lea, unit=unit, day=day, status=status
        )

    def ticked(unit, day, present, booked=True):
        Attendance.objects.create(
            commune=commune, famille=world.famille, child=lea, unit=unit, day=day,
            present=present, booked=booked,
        )  # fmt: skip

    # Acc Matin, January 2026
    booked(matin, date(2026, 1, 5))
    ticked(matin, date(2026, 1, 5), True)  # register: present
    booked(matin, date(2026, 1, 6))
    ticked(matin, date(2026, 1, 6), False)  # register: absent, though booked
    ticked(matin, date(2026, 1, 8), True, booked=False)  # came without booking
    booked(matin, date(2026, 1, 9))  # no register: booked, so present
    booked(matin, date(2026, 1, 12))  # declared absent
    Absence.objects.create(
        commune=commune, famille=world.famille, child=lea, first_day=date(2026, 1, 12),
        last_day=date(2026, 1, 13), reason="maladie",
    )  # fmt: skip
    booked(matin, date(2026, 1, 15))  # the activity was closed that day
    ActivityClosure.objects.create(
        commune=commune, activity=matin.activity, day=date(2026, 1, 15), reason="Grève"
    )
    booked(matin, date(2026, 1, 16), BookingStatus.LISTE_ATTENTE)  # never had a seat
    booked(matin, date(2026, 2, 2))  # after the period
    # Acc Soir
    booked(soir, date(2026, 1, 5))
    booked(soir, date(2026, 1, 16))
    ActivityClosure.objects.create(commune=commune, day=date(2026, 1, 16), reason="Travaux")

    units = selectors.attendance_days(child=lea, start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert [(u.unit, u.days) for u in units] == [
        (matin, [date(2026, 1, 5), date(2026, 1, 8), date(2026, 1, 9)]),
        (soir, [date(2026, 1, 5)]),
    ]
    text = pdf_text(
        pdf.attendance_certificate_pdf(
            famille=world.famille, child=lea, start=date(2026, 1, 1), end=date(2026, 1, 31)
        )
    )
    for words in [
        "Attestation de présence", "Léa DURAND a été accueilli(e) du 01/01/2026 au 31/01/2026",
        "Accueil Périscolaire Maternelle — Acc Matin", "05/01/2026, 08/01/2026, 09/01/2026",
        "3 jours de présence", "Accueil Périscolaire Maternelle — Acc Soir", "1 jour de présence",
        "Total : 4 présences",
    ]:  # fmt: skip
        assert words in text, words


def test_another_familys_child_gets_no_certificate_from_this_family(world):
    stranger = ChildFactory(famille=FamilleFactory(commune=world.commune))
    with pytest.raises(ValueError):
        pdf.attendance_certificate_pdf(
            famille=world.famille, child=stranger, start=date(2026, 1, 1), end=date(2026, 1, 31)
        )


# --- Rendering ----------------------------------------------------------------------------------


def test_nothing_is_fetched_while_rendering():
    fetcher = pdf._url_fetcher()
    for address in ("https://example.org/logo.png", "http://10.0.0.1/", "file:///etc/passwd"):
        with pytest.raises(ValueError, match="disallowed protocol"):
            fetcher.fetch(address)
    assert fetcher.fetch("data:text/plain,ok") is not None
