"""Reads for online payment, always scoped to the commune of the URL and, for a family's pages,
to the account that asks: another family's or commune's invoice or transaction is never
found."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F, Prefetch

from parvis.accounts.models import User
from parvis.billing.models import Invoice, InvoiceStatus
from parvis.communes.models import Commune
from parvis.families.models import Famille, FamilyAccess
from parvis.ids import parse_ids
from parvis.payments.models import (
    Provider,
    ProviderConfig,
    Transaction,
    TransactionInvoice,
    TransactionStatus,
)


def _linked_famille_ids(*, user: User, commune: Commune):
    if not (user.is_authenticated and user.commune_id == commune.pk):
        return FamilyAccess.objects.none().values("famille_id")
    return FamilyAccess.objects.filter(user=user, commune=commune).values("famille_id")


def families_paying(*, user: User, commune: Commune, ids: Iterable) -> list[Famille]:
    """The account's families that own a due invoice among `ids` (usually one)."""
    ids = parse_ids(ids)
    if not ids:
        return []
    owners = (
        Invoice.objects.filter(commune=commune, pk__in=ids)
        .exclude(status=InvoiceStatus.ANNULEE)
        .filter(total__gt=F("paid"))
        .values("famille_id")
    )
    return list(
        Famille.objects.filter(
            commune=commune,
            pk__in=_linked_famille_ids(user=user, commune=commune),
        )
        .filter(pk__in=owners)
        .order_by("name", "number")
    )


def _with_invoices(queryset):
    return queryset.prefetch_related(
        Prefetch(
            "shares",
            queryset=TransactionInvoice.objects.select_related("invoice__regie").order_by(
                "invoice__number"
            ),
        )
    )


def family_transaction(*, user: User, commune: Commune, reference: str) -> Transaction | None:
    """One of the account's families' transactions, with its invoices; None otherwise."""
    if not reference or len(reference) > 40:
        return None
    return (
        _with_invoices(
            Transaction.objects.filter(
                commune=commune,
                reference=reference,
                famille_id__in=_linked_famille_ids(user=user, commune=commune),
            )
        )
        .select_related("famille", "commune")
        .first()
    )


def pending_simulator_transaction(*, commune: Commune, reference: str) -> Transaction | None:
    """A transaction of the commune waiting for the simulator: the only ones its page shows."""
    if not reference or len(reference) > 40:
        return None
    return (
        _with_invoices(
            Transaction.objects.filter(
                commune=commune,
                reference=reference,
                provider=Provider.SIMULATEUR,
                status=TransactionStatus.EN_ATTENTE,
            )
        )
        .select_related("commune")
        .first()
    )


def provider_config(*, commune: Commune) -> ProviderConfig | None:
    return ProviderConfig.objects.filter(commune=commune).first()


def payer_email(payment) -> str:
    """The e-mail of the account that paid `payment` (a billing Payment) online, if any: billing's
    receipt goes to it too (registered with billing.delivery.register_payer_email)."""
    return (
        Transaction.objects.filter(
            commune_id=payment.commune_id, reference=payment.transaction_reference
        )
        .values_list("user__email", flat=True)
        .first()
        or ""
    )
