"""Reads of a family's invoices and payments (« Mon compte »), always scoped to the commune of
the request and to the family (or families) of the account that asks.

`famille` is either one Famille or a queryset of families — usually `citizen_families(...)`,
the families the logged-in account is linked to in the commune. An invoice of another family or
of another commune is never returned: the single-object reads return None and the views answer
404. Ids come from the browser as text: anything that is not a whole number is ignored.

The status of an invoice in words (« Facture réglée : 73,80 € », « À régler : 45,10 € avant le
15/12/2026 », « En retard … ») is `invoice_state`, so every page says it the same way."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.billing.models import DUE_STATUSES, Invoice, InvoiceStatus, PaymentAllocation
from parvis.billing.pricing import money
from parvis.communes.models import Commune
from parvis.families.models import Famille
from parvis.families.selectors_citizen import _linked_families
from parvis.ids import parse_id
from parvis.money import CENT, ZERO

# An upper bound on the ids read from one request (a page of checkboxes is far below it).
MAX_IDS = 500


def citizen_families(*, user: User, commune: Commune) -> QuerySet[Famille]:
    """The families the account is linked to in `commune` (none for another commune's account):
    the `famille` to pass to the functions below for a citizen's request."""
    return _linked_families(user=user, commune=commune)


def _of_family(famille: Famille | QuerySet[Famille]) -> Q:
    if isinstance(famille, Famille):
        return Q(famille_id=famille.pk)
    return Q(famille__in=famille)


def _family_invoices(*, famille, commune: Commune) -> QuerySet[Invoice]:
    return Invoice.objects.filter(_of_family(famille), commune=commune)


def invoices_of(*, famille, commune: Commune) -> QuerySet[Invoice]:
    """The family's invoices, cancelled ones included, for « Mon compte »: grouped by category
    (the category whose latest invoice is the most recent first), the newest invoice first in
    each category, and the cancelled invoices after all the others. One query for a page of
    them (régie and family joined), whatever their number."""
    latest_of_category = (
        _family_invoices(famille=famille, commune=commune)
        .exclude(status=InvoiceStatus.ANNULEE)
        .filter(category=OuterRef("category"))
        .values("category")
        .annotate(latest=Max("issued_on"))
        .values("latest")
    )
    return (
        _family_invoices(famille=famille, commune=commune)
        .select_related("regie", "famille")
        .annotate(
            cancelled=Case(
                When(status=InvoiceStatus.ANNULEE, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
            category_latest=Subquery(latest_of_category),
        )
        .order_by(
            "cancelled",
            F("category_latest").desc(nulls_last=True),
            "category",
            "-issued_on",
            "-number",
            "-pk",
        )
    )


def invoice_of(*, famille, commune: Commune, pk) -> Invoice | None:
    """One of the family's invoices with its lines and régie, or None (another family's or
    commune's invoice, an unknown or malformed id)."""
    pk = parse_id(pk)
    if pk is None:
        return None
    return (
        _family_invoices(famille=famille, commune=commune)
        .filter(pk=pk)
        .select_related("regie", "famille")
        .prefetch_related("lines")
        .first()
    )


def balance_of(*, famille, commune: Commune) -> Decimal:
    """What the family still has to pay: the sum of the due amounts of its invoices that are
    not cancelled (« Solde à régler »)."""
    result = (
        _family_invoices(famille=famille, commune=commune)
        .filter(status__in=DUE_STATUSES)
        .aggregate(
            due=Coalesce(
                Sum(
                    F("total") - F("paid"),
                    output_field=DecimalField(max_digits=11, decimal_places=2),
                ),
                Value(ZERO),
                output_field=DecimalField(max_digits=11, decimal_places=2),
            )
        )
    )
    return Decimal(result["due"]).quantize(CENT)


def payments_of_invoice(*, famille, commune: Commune, invoice: Invoice) -> list[PaymentAllocation]:
    """The payments that settled (part of) the invoice, as their shares of it, the latest first,
    each with its payment (`allocation.payment`: date, method, receipt number, status, total of
    the payment when it settled several invoices). Cancelled payments are included."""
    return list(
        PaymentAllocation.objects.filter(
            invoice_id=invoice.pk,
            invoice__in=_family_invoices(famille=famille, commune=commune),
            payment__commune=commune,
        )
        .select_related("payment")
        .order_by("-payment__received_on", "-payment__number", "-pk")
    )


def payable_invoices(*, famille, commune: Commune) -> list[Invoice]:
    """All the family's invoices that still have something due (not cancelled), oldest due date
    first: the choices of « Payer plusieurs factures »."""
    return list(
        _family_invoices(famille=famille, commune=commune)
        .filter(status__in=DUE_STATUSES, total__gt=F("paid"))
        .order_by("due_on", "number", "pk")
    )


def due_invoices(*, famille, commune: Commune, ids: Iterable) -> list[Invoice]:
    """The family's own invoices among `ids` (text or numbers, as posted: « factures ») that
    still have something due and are not cancelled, oldest due date first, with their régie.
    Anything else among the ids (another family's, another commune's, paid, cancelled, garbage)
    is left out. A plain read without locks: the payment service locks and checks again."""
    wanted = set()
    for value in ids:
        pk = parse_id(value)
        if pk is not None:
            wanted.add(pk)
        if len(wanted) >= MAX_IDS:
            break
    if not wanted:
        return []
    return list(
        _family_invoices(famille=famille, commune=commune)
        .filter(pk__in=wanted, status__in=DUE_STATUSES, total__gt=F("paid"))
        .select_related("regie")
        .order_by("due_on", "number", "pk")
    )


# --- The status in words -----------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceState:
    """How an invoice stands, for the family: `code` names it for the stylesheet (a_regler,
    partiellement_reglee, reglee, annulee, en_retard), `text` says it all in words (the colour
    only repeats it), `due` is what remains to pay (0 when paid or cancelled)."""

    code: str
    text: str
    due: Decimal
    payable: bool

    @property
    def overdue(self) -> bool:
        return self.code == "en_retard"


def invoice_state(invoice: Invoice, *, today: date, debit_on: date | None = None) -> InvoiceState:
    """« Facture réglée : 73,80 € », « À régler : 45,10 € avant le 15/12/2026 », « Partiellement
    réglée : reste 20,00 € sur 45,10 € avant le 15/12/2026 », « En retard — … (échéance :
    15/12/2026) », « Annulée »; with `debit_on` (billing.direct_debit: a mandate pays it),
    « À régler : 45,10 € — prélevé le 05/01/2027 », not payable online."""
    if invoice.status == InvoiceStatus.ANNULEE:
        return InvoiceState("annulee", _("Annulée"), ZERO, False)
    if invoice.status == InvoiceStatus.REGLEE or invoice.due_amount <= 0:
        return InvoiceState(
            "reglee", _("Facture réglée : %(total)s") % {"total": money(invoice.total)}, ZERO, False
        )
    due, deadline = invoice.due_amount, invoice.due_on.strftime("%d/%m/%Y")
    if invoice.status == InvoiceStatus.PRELEVEMENT_EN_COURS:
        text = _("Prélèvement en cours : %(due)s") % {"due": money(due)}
        if debit_on is not None:
            text = _("Prélèvement en cours : %(due)s prélevé le %(day)s") % {
                "due": money(due),
                "day": debit_on.strftime("%d/%m/%Y"),
            }
        return InvoiceState("prelevement", text, due, False)
    if debit_on is not None and invoice.status == InvoiceStatus.A_REGLER:
        text = _("À régler : %(due)s — prélevé le %(day)s (prélèvement automatique)") % {
            "due": money(due),
            "day": debit_on.strftime("%d/%m/%Y"),
        }
        return InvoiceState("prelevement", text, due, False)
    if invoice.status == InvoiceStatus.PARTIELLEMENT_REGLEE:
        what = _("Partiellement réglée : reste %(due)s sur %(total)s") % {
            "due": money(due),
            "total": money(invoice.total),
        }
    else:
        what = _("À régler : %(due)s") % {"due": money(due)}
    if invoice.is_overdue(today):
        text = _("En retard — %(what)s (échéance : %(deadline)s)") % {
            "what": what,
            "deadline": deadline,
        }
        return InvoiceState("en_retard", text, due, True)
    text = _("%(what)s avant le %(deadline)s") % {"what": what, "deadline": deadline}
    return InvoiceState(invoice.status, text, due, True)
