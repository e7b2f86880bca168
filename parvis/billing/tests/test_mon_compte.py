"""« Mon compte » (the seed's « GÉRER ET PAYER SES FACTURES »): the family's invoices grouped by
category with their status in words and the balance, to the cent; one invoice's detail with its
lines; its « Paiements » with « Payer »; the form that pays several invoices posts only their
ids; another family's or another commune's invoice is a 404; a long list is paginated with a
constant number of queries."""

import html
import re
from datetime import date, datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parvis.accounts.models import AgentRole
from parvis.activities.rules import PARIS
from parvis.billing import services
from parvis.billing.models import (
    Invoice,
    InvoiceKind,
    LineKind,
    PaymentMethod,
    Regie,
    Sequence,
    SequenceKind,
)
from parvis.billing.views import PER_PAGE
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import (
    AgentFactory,
    ChildFactory,
    FamilleFactory,
    FamilyAccessFactory,
)

pytestmark = pytest.mark.django_db

BACKEND = "parvis.accounts.backends.CommuneBackend"
# Thursday 10 December 2026: the November invoice is due before Tuesday 15 December.
TODAY = datetime(2026, 12, 10, 9, 0, tzinfo=PARIS)
DUE = date(2026, 12, 15)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture(autouse=True)
def no_receipt_mail(monkeypatch):
    # The receipt e-mail belongs to the PDF part; here only the rows matter.
    monkeypatch.setattr("parvis.billing.delivery.send_receipt", lambda **kwargs: None)


def text_of(response) -> str:
    page = response.content.decode()
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def line(kind=LineKind.PRESTATION, label="Restauration", quantity=1, unit_price="0", **extra):
    unit_price = D(unit_price)
    amount = extra.pop("amount", None)
    return services.LineData(
        kind=kind,
        label=label,
        quantity=quantity,
        unit_price=unit_price,
        amount=D(amount) if amount is not None else unit_price * quantity,
        **extra,
    )


def make_invoice(regie, famille, *lines, **fields) -> Invoice:
    month = fields.pop("month", date(2026, 11, 1))
    kind = fields.pop("kind", InvoiceKind.MENSUELLE)
    arguments = {
        "regie": regie, "famille": famille, "kind": kind,
        "month": month if kind == InvoiceKind.MENSUELLE else None,
        "category": "RÉGIE ENFANCE", "label": f"Facture de {month:%m/%Y}",
        "period_start": month, "period_end": month.replace(day=28),
        "issued_on": date(2026, 12, 1), "due_on": DUE, "actor": None,
        "lines": list(lines) or [line(unit_price="10.00")],
        **fields,
    }  # fmt: skip
    return services.create_invoice(**arguments)


def pay(regie, famille, invoice, amount, method=PaymentMethod.ESPECES, day=date(2026, 12, 5)):
    return services.record_payment(
        regie=regie, famille=famille, allocations=[(invoice, D(amount))], method=method,
        received_on=day, actor=None, send_receipt=False,
    )  # fmt: skip


def world(commune=None):
    """The DURAND family of the seed: a stay « Séjour CT 3 (Ecole du PARC) » n° 7916 settled
    for 73,80 €, November's invoice due (17 × 4,15 = 70,55 € of meals and more: 81,90 €) and
    October's partly paid (20,00 € left of 45,10 €)."""
    commune = commune or CommuneFactory(name="Villebois", slug="villebois")
    regie = Regie.objects.create(commune=commune, name="Régie enfance", code="ENF")
    Sequence.objects.create(
        commune=commune, regie=regie, kind=SequenceKind.FACTURE, last_number=7915
    )
    famille = FamilleFactory(commune=commune, name="DURAND")
    lea = ChildFactory(famille=famille, first_names="Léa")
    access = FamilyAccessFactory(famille=famille)
    stay = make_invoice(
        regie, famille,
        line(LineKind.SEJOUR, "Séjour CT 3", 1, "73.80", child_id=lea.pk, child_name="Léa DURAND"),
        kind=InvoiceKind.UNIQUE, category="CLASSES TRANSPLANTÉES",
        label="Séjour CT 3 (Ecole du PARC)", month=date(2026, 6, 1),
        issued_on=date(2026, 6, 30), due_on=date(2026, 7, 31),
    )  # fmt: skip
    pay(regie, famille, stay, "73.80", method=PaymentMethod.CARTE, day=date(2026, 7, 2))
    october = make_invoice(
        regie, famille, line(quantity=11, unit_price="4.10"),
        month=date(2026, 10, 1), label="Facture d'octobre 2026", issued_on=date(2026, 11, 2),
    )  # fmt: skip
    pay(regie, famille, october, "25.10")
    november = make_invoice(
        regie, famille,
        line(label="Restauration — Léa DURAND", quantity=17, unit_price="4.15",
             child_id=lea.pk, child_name="Léa DURAND", price_label="QF de 700 € à 999,99 €"),
        line(label="Acc Soir — Léa DURAND", quantity=5, unit_price="2.10",
             child_name="Léa DURAND", price_label="tarif unique"),
        line(LineKind.PENALITE, "Présence sans réservation — Acc Soir", 1, "5.00",
             child_name="Léa DURAND", price_label="montant fixe"),
        line(LineKind.DEDUCTION, "Absence justifiée — Restauration", 1, "4.15",
             amount="-4.15", child_name="Léa DURAND", price_label="100 % du prix"),
        label="Facture de novembre 2026",
    )  # fmt: skip
    return {
        "commune": commune, "regie": regie, "famille": famille, "user": access.user,
        "lea": lea, "stay": stay, "october": october, "november": november,
    }  # fmt: skip


@pytest.fixture
def durand():
    return world()


@pytest.fixture
def logged(client, durand):
    client.force_login(durand["user"], backend=BACKEND)
    return client


def url(data, name="mon_compte", pk=None):
    kwargs = {"commune": data["commune"].slug}
    if pk is not None:
        kwargs["pk"] = pk
    return reverse(f"billing:{name}", kwargs=kwargs)


# --- Who may see --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mon_compte", "facture", "paiements"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, durand, name):
    pk = None if name == "mon_compte" else durand["november"].pk
    response = client.get(url(durand, name, pk))
    login = reverse("accounts:connexion", kwargs={"commune": "villebois"})
    assert response.status_code == 302
    assert response.url.startswith(f"{login}?next=")


@pytest.mark.parametrize("name", ["facture", "paiements"])
def test_another_family_of_the_same_commune_gets_a_404(client, durand, name):
    other = FamilyAccessFactory(famille=FamilleFactory(commune=durand["commune"]))
    client.force_login(other.user, backend=BACKEND)
    assert client.get(url(durand, name, durand["november"].pk)).status_code == 404
    # Its own « Mon compte » lists nothing of the DURAND family's.
    text = text_of(client.get(url(durand)))
    assert "Séjour CT 3" not in text and "novembre 2026" not in text
    assert "Solde à régler : 0,00 €" in text


@pytest.mark.parametrize("name", ["facture", "paiements"])
def test_another_communes_invoice_is_a_404(client, durand, name):
    elsewhere = world(CommuneFactory(name="Autreville", slug="autreville"))
    client.force_login(elsewhere["user"], backend=BACKEND)
    # The DURAND invoice's id under the other commune's address, by that commune's citizen.
    response = client.get(url(elsewhere, name, durand["november"].pk))
    assert response.status_code == 404
    # And the citizen of Autreville is not let into Villebois' « Mon compte ».
    assert client.get(url(durand, name, durand["november"].pk)).status_code == 302


def test_an_unknown_invoice_is_a_404(logged, durand):
    assert logged.get(url(durand, "facture", 999999)).status_code == 404
    assert logged.get(url(durand, "paiements", 999999)).status_code == 404


def test_the_pages_only_answer_get(logged, durand):
    assert logged.post(url(durand)).status_code == 405
    assert logged.post(url(durand, "facture", durand["november"].pk)).status_code == 405


# --- « Mon compte » -----------------------------------------------------------------------------


def test_mon_compte_lists_the_invoices_with_their_status_in_words(logged, durand):
    response = logged.get(url(durand))
    assert response.status_code == 200
    text = text_of(response)
    assert "Mon compte" in text
    assert "FACTURATION UNIQUE" in text
    # The seed's line.
    assert "CLASSES TRANSPLANTÉES 7916 - Séjour CT 3 (Ecole du PARC) Facture réglée : 73,80 €" in (
        text
    )
    assert "Facture de novembre 2026 À régler : 81,90 € avant le 15/12/2026" in text
    assert (
        "Facture d'octobre 2026 Partiellement réglée : reste 20,00 € sur 45,10 € avant le "
        "15/12/2026" in text
    )
    # The balance: 81,90 + 20,00.
    assert "Solde à régler : 101,90 €" in text
    page = response.content.decode()
    detail = url(durand, "facture", durand["stay"].pk)
    assert f'href="{detail}">7916 - Séjour CT 3 (Ecole du PARC)</a>' in page


def test_invoices_are_grouped_by_category_newest_first(logged, durand):
    text = text_of(logged.get(url(durand)))
    regie = text.index("RÉGIE ENFANCE")
    november = text.index("Facture de novembre 2026")
    october = text.index("Facture d'octobre 2026")
    stays = text.index("CLASSES TRANSPLANTÉES")
    assert regie < november < october < stays


def test_an_invoice_is_late_the_day_after_its_due_date(logged, durand):
    with time_machine.travel(datetime(2026, 12, 15, 23, 59, tzinfo=PARIS), tick=False):
        text = text_of(logged.get(url(durand)))
    assert "À régler : 81,90 € avant le 15/12/2026" in text
    assert "En retard" not in text
    with time_machine.travel(datetime(2026, 12, 16, 0, 1, tzinfo=PARIS), tick=False):
        text = text_of(logged.get(url(durand)))
    assert "En retard — À régler : 81,90 € (échéance : 15/12/2026)" in text
    assert (
        "En retard — Partiellement réglée : reste 20,00 € sur 45,10 € (échéance : 15/12/2026)"
        in text
    )
    assert "81,90 € à régler (en retard)" in text  # the checkbox says it too


def test_a_cancelled_invoice_comes_last_marked_annulee_and_out_of_the_balance(logged, durand):
    agent = AgentFactory(commune=durand["commune"], roles=[AgentRole.Role.ADMINISTRATEUR])
    services.cancel_invoice(invoice=durand["november"], actor=agent, reason="Erreur de saisie")
    response = logged.get(url(durand))
    text = text_of(response)
    assert text.index("Factures annulées") > text.index("CLASSES TRANSPLANTÉES")
    assert "Factures annulées 7918 - Facture de novembre 2026 Annulée" in text
    assert "Solde à régler : 20,00 €" in text
    assert f'value="{durand["november"].pk}"' not in response.content.decode()


def test_the_pay_form_posts_only_the_due_invoices_ids(logged, durand):
    page = logged.get(url(durand)).content.decode()
    forms = re.findall(r"<form\b[^>]*>.*?</form>", page, flags=re.S)
    payer = reverse("payments:payer", kwargs={"commune": "villebois"})
    [form] = [f for f in forms if f'action="{payer}"' in f]
    assert 'method="post"' in form
    inputs = re.findall(r"<input\b[^>]*>", form)
    names = {re.search(r'name="([^"]+)"', tag).group(1) for tag in inputs}
    assert names == {"csrfmiddlewaretoken", "factures"}  # no amount anywhere
    boxes = [tag for tag in inputs if 'name="factures"' in tag]
    assert all('type="checkbox"' in tag for tag in boxes)
    values = {re.search(r'value="([^"]+)"', tag).group(1) for tag in boxes}
    assert values == {str(durand["november"].pk), str(durand["october"].pk)}  # not the paid one
    for tag in boxes:  # each labelled with its invoice
        box_id = re.search(r'id="([^"]+)"', tag).group(1)
        label = re.search(rf'<label for="{box_id}">(.*?)</label>', form, flags=re.S).group(1)
        assert "Facture n° 79" in label and "€ à régler" in label
    assert "Facture n° 7918 - Facture de novembre 2026 : 81,90 € à régler" in html.unescape(
        re.sub(r"\s+", " ", form)
    )
    assert re.search(r'<button type="submit" class="button">\s*Payer\s*</button>', form)


def test_nothing_due_no_pay_form(logged, durand):
    pay(durand["regie"], durand["famille"], durand["november"], "81.90")
    pay(durand["regie"], durand["famille"], durand["october"], "20.00")
    response = logged.get(url(durand))
    text = text_of(response)
    assert "Solde à régler : 0,00 €" in text
    assert "Payer plusieurs factures" not in text
    assert 'name="factures"' not in response.content.decode()


def test_an_account_without_family_sees_an_empty_account(client, durand):
    from parvis.families.tests.factories import CitizenFactory

    client.force_login(CitizenFactory(commune=durand["commune"]), backend=BACKEND)
    text = text_of(client.get(url(durand)))
    assert "Aucun foyer n'est lié à votre espace" in text
    assert "Solde à régler : 0,00 €" in text


def test_an_account_of_two_families_sees_both_named(client, durand):
    second = FamilleFactory(commune=durand["commune"], name="MARTIN")
    FamilyAccessFactory(famille=second, user=durand["user"])
    make_invoice(durand["regie"], second, line(unit_price="12.00"), label="Facture MARTIN")
    client.force_login(durand["user"], backend=BACKEND)
    text = text_of(client.get(url(durand)))
    assert "Facture MARTIN Famille MARTIN À régler : 12,00 €" in text
    assert "Famille DURAND" in text
    assert "Solde à régler : 113,90 €" in text


def _many(data, count):
    for n in range(count):
        make_invoice(
            data["regie"], data["famille"], line(unit_price="1.00"),
            kind=InvoiceKind.UNIQUE, issued_on=date(2026, 1, 1), label=f"Ancienne facture {n:02d}",
        )  # fmt: skip


def test_a_long_list_is_paginated_by_24(logged, durand):
    _many(durand, 30)  # 33 invoices in all
    first = text_of(logged.get(url(durand)))
    assert "Page 1 sur 2" in first
    # November, October and 22 old ones listed (the stay's category comes after), and the 30 old
    # ones again in the pay form.
    assert first.count("Ancienne facture") == PER_PAGE - 2 + 30
    second = text_of(logged.get(url(durand) + "?page=2"))
    assert "Page 2 sur 2" in second
    assert "Facture de novembre 2026 À régler" not in second
    assert "7916 - Séjour CT 3 (Ecole du PARC)" in second
    # 8 old ones in the list of page 2, and the 30 in the pay form (all the due ones, every page).
    assert second.count("Ancienne facture") == 8 + 30
    assert logged.get(url(durand) + "?page=garbage").status_code == 200


def test_the_list_costs_the_same_queries_whatever_the_number_of_invoices(
    logged, durand, django_assert_max_num_queries
):
    # Two families on the account, so each line also names its family.
    FamilyAccessFactory(famille=FamilleFactory(commune=durand["commune"]), user=durand["user"])
    with CaptureQueriesContext(connection) as few:
        assert logged.get(url(durand)).status_code == 200
    _many(durand, 40)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = logged.get(url(durand))
    text = text_of(response)
    assert text.count("Ancienne facture") == PER_PAGE - 2 + 40
    # Each line, and the family's heading in « Adhésion à la facture en ligne ».
    assert text.count("Famille DURAND") == PER_PAGE + 1
    # 12, and 2 for direct debit (issue 19): the families' mandates (« prélevé le … ») and the
    # régies offering it (the « Prélèvement automatique » panel).
    assert len(few.captured_queries) <= 14


# --- The invoice --------------------------------------------------------------------------------


def test_the_invoice_page_shows_its_lines_and_amounts_to_the_cent(logged, durand):
    november = durand["november"]
    response = logged.get(url(durand, "facture", november.pk))
    assert response.status_code == 200
    text = text_of(response)
    assert "Facture n° 7918" in text
    assert "RÉGIE ENFANCE — Facture de novembre 2026" in text
    assert "du 01/11/2026 au 28/11/2026" in text
    assert "Émise le 01/12/2026" in text
    assert "À régler avant le 15/12/2026" in text
    assert "À régler : 81,90 € avant le 15/12/2026" in text
    assert "Lignes de la facture n° 7918" in text  # the table's caption
    assert "Léa DURAND Restauration — Léa DURAND 17 4,15 € QF de 700 € à 999,99 € 70,55 €" in text
    assert "Acc Soir — Léa DURAND 5 2,10 € tarif unique 10,50 €" in text
    assert "Pénalité : Présence sans réservation — Acc Soir 1 5,00 € montant fixe 5,00 €" in text
    assert "Déduction : Absence justifiée — Restauration 1 4,15 € 100 % du prix -4,15 €" in text
    assert "Total 81,90 € Déjà réglé 0,00 € Reste à régler 81,90 €" in text
    page = response.content.decode()
    assert f'href="{url(durand, "paiements", november.pk)}"' in page
    assert f'href="{url(durand, "facture_pdf", november.pk)}"' in page
    assert "Imprimer (PDF)" in text and "Télécharger (PDF)" in text
    assert "billing/billing.css" in page  # the print stylesheet


def test_a_partly_paid_invoice_shows_what_remains(logged, durand):
    text = text_of(logged.get(url(durand, "facture", durand["october"].pk)))
    assert "Total 45,10 € Déjà réglé 25,10 € Reste à régler 20,00 €" in text


# --- « Paiements » -------------------------------------------------------------------------------


def test_paiements_lists_the_payments_and_offers_payer_for_what_remains(logged, durand):
    october = durand["october"]
    response = logged.get(url(durand, "paiements", october.pk))
    assert response.status_code == 200
    text = text_of(response)
    assert "Montant de la facture 45,10 € Déjà réglé 25,10 € Reste à régler 20,00 €" in text
    assert "05/12/2026 Espèces 25,10 € enregistré Reçu n° 2 (PDF)" in text
    page = response.content.decode()
    payment = october.allocations.get().payment
    assert f'href="{url(durand, "recu_pdf", payment.pk)}"' in page
    payer = reverse("payments:payer", kwargs={"commune": "villebois"})
    form = re.search(rf'<form[^>]*action="{payer}"[^>]*>.*?</form>', page, flags=re.S).group(0)
    names = set(re.findall(r'name="([^"]+)"', form))
    assert names == {"csrfmiddlewaretoken", "factures"}
    assert f'name="factures" value="{october.pk}"' in form
    assert ">Payer</button>" in form


def test_a_settled_invoice_says_facture_reglee_without_payer(logged, durand):
    response = logged.get(url(durand, "paiements", durand["stay"].pk))
    text = text_of(response)
    assert "Facture réglée : 73,80 €" in text
    assert "02/07/2026 Carte bancaire en ligne 73,80 € enregistré Reçu n° 1 (PDF)" in text
    assert "payments" not in response.content.decode().split("<main", 1)[1].split("</main>")[0]


def test_a_cancelled_payment_is_marked_annule_and_the_invoice_is_due_again(logged, durand):
    agent = AgentFactory(commune=durand["commune"], roles=[AgentRole.Role.ADMINISTRATEUR])
    payment = durand["october"].allocations.get().payment
    services.cancel_payment(payment=payment, actor=agent, reason="Chèque sans provision")
    text = text_of(logged.get(url(durand, "paiements", durand["october"].pk)))
    assert "Espèces 25,10 € annulé le 10/12/2026" in text
    assert "Reste à régler 45,10 €" in text
    assert "À régler : 45,10 € avant le 15/12/2026" in text


def test_one_payment_for_two_invoices_shows_this_invoices_share(logged, durand):
    regie, famille = durand["regie"], durand["famille"]
    services.record_payment(
        regie=regie, famille=famille, method=PaymentMethod.CHEQUE, received_on=date(2026, 12, 8),
        allocations=[(durand["november"], D("81.90")), (durand["october"], D("20.00"))],
        actor=None, send_receipt=False, reference="Chèque 123",
    )  # fmt: skip
    text = text_of(logged.get(url(durand, "paiements", durand["october"].pk)))
    assert "08/12/2026 Chèque 20,00 € sur un paiement de 101,90 € pour plusieurs factures" in text
    assert "Facture réglée : 45,10 €" in text
