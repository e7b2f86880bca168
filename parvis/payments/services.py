"""Writes of online payment: starting a transaction (« Payer »), and the provider's server
notification, the only thing that marks invoices paid.

The amount of a transaction and each invoice's share are computed here from what remains due,
never read from the browser. A notification changes something only when the provider
implementation could verify it (`Verified.signed`), names a transaction of this commune started
with this provider, and carries that transaction's amount; it is applied in one database
transaction that locks the transaction's invoices then its row, and a second notification for a
transaction that is no longer « en attente » changes nothing. Every exchange is logged
(`Exchange`).

An invoice is in one pending transaction at most: « Payer » again replaces the transaction it
was pending in (« remplacée »). A bank may still confirm the old one, or an invoice may have been
settled at the counter meanwhile: what is due is recorded, the rest is a trop-perçu of the
régie (`TropPercu`), which an agent refunds (`refund_trop_percu`)."""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction as db
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.accounts.services_notifications import (
    record_unsigned_notification,
    unsigned_notifications_throttled,
)
from parvis.billing import selectors as billing_selectors
from parvis.billing import services as billing
from parvis.billing.models import DUE_STATUSES, Invoice, PaymentMethod, Regie
from parvis.billing.pricing import money
from parvis.communes.models import Commune
from parvis.families.models import Famille
from parvis.ids import parse_ids
from parvis.mail import absolute_url
from parvis.money import ZERO
from parvis.payments import selectors, selectors_sepa
from parvis.payments.models import (
    TRANSACTION_TRANSITIONS,
    TROP_PERCU_TRANSITIONS,
    Exchange,
    ExchangeKind,
    Provider,
    RefundMethod,
    Transaction,
    TransactionInvoice,
    TransactionStatus,
    TropPercu,
    TropPercuChange,
    TropPercuStatus,
)
from parvis.payments.providers import (
    NotificationError,
    ProviderBase,
    ProviderError,
    Redirect,
    Urls,
    Verified,
    provider_class,
)
from parvis.payments.providers.simulateur import default_secret

REFERENCE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # base32: no 0/O nor 1/I to misread
PAYLOAD_LIMIT = 8000
# What is kept of a notification nobody signed: its first bytes, enough to see what it was; the
# rest (up to the 2 MB a request may carry) is anyone's and fills nothing.
UNSIGNED_EXCERPT_BYTES = 4096


def new_reference() -> str:
    """« PVS » and 20 random base32 characters (100 bits): unique and unguessable."""
    return "PVS" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(20))


# --- Providers --------------------------------------------------------------------------------


def _build(commune: Commune, name: str, *, options: dict, secret: str) -> ProviderBase:
    cls = provider_class(name)
    if cls is None or (name == Provider.SIMULATEUR and not settings.PARVIS_PAYMENT_SIMULATOR):
        # The simulator pays without money: a deployment switches it on for tests and demos.
        raise LookupError(name)
    if name == Provider.SIMULATEUR and not secret:
        secret = default_secret(commune)
    return cls(options=dict(options or {}), secret=secret)


def provider_for(commune: Commune, name: str | None = None) -> ProviderBase:
    """The provider `name` (default: the commune's) built with the commune's options and secret,
    to start a payment. The commune's settings apply only to the provider it is configured for;
    the simulator without a key of its own signs with one derived from SECRET_KEY and the
    commune."""
    config = selectors.provider_config(commune=commune)
    if name is None:
        name = config.provider if config is not None else Provider.SIMULATEUR
    options, secret = {}, ""
    if config is not None and config.provider == name:
        options, secret = config.options, config.secret
    return _build(commune, name, options=options, secret=secret)


def provider_for_transaction(transaction: Transaction) -> ProviderBase:
    """The provider of a payment under way, built with the options copied onto the transaction
    when it started (`Transaction.options`): a commune that changes its settings, or its
    provider, meanwhile does not break the payments in flight. The secret is not copied (a key
    is kept in one place): the commune's, while it still uses that provider."""
    commune = transaction.commune
    config = selectors.provider_config(commune=commune)
    secret = config.secret if config is not None and config.provider == transaction.provider else ""
    return _build(commune, transaction.provider, options=transaction.options, secret=secret)


def urls_for(commune: Commune, *, reference: str, provider: str) -> Urls:
    def path(name, **kwargs):
        return reverse(f"payments:{name}", kwargs={"commune": commune.slug, **kwargs})

    return Urls(
        return_url=absolute_url(path("retour", reference=reference)),
        notification_url=absolute_url(path("notification", provider=provider)),
        simulator_url=path("simulateur", reference=reference),
    )


def _move(transaction: Transaction, to: str) -> None:
    """Moves a transaction along TRANSACTION_TRANSITIONS (the caller saves it, in the same
    database transaction). Leaving « en attente » frees its invoices for another « Payer »."""
    if to not in TRANSACTION_TRANSITIONS[transaction.status]:
        raise ValidationError(
            _("Une transaction « %(from)s » ne peut pas passer à « %(to)s ».")
            % {
                "from": TransactionStatus(transaction.status).label,
                "to": TransactionStatus(to).label,
            }
        )
    if transaction.status == TransactionStatus.EN_ATTENTE:
        TransactionInvoice.objects.filter(transaction=transaction, pending=True).update(
            pending=False
        )
    transaction.status = to


def _log(
    *,
    commune: Commune,
    provider: str,
    kind: str,
    transaction: Transaction | None = None,
    method: str = "",
    payload: str = "",
    remote_addr: str | None = None,
    verified: bool | None = None,
    outcome: str = "",
) -> Exchange:
    return Exchange.objects.create(
        commune=commune,
        transaction=transaction,
        provider=provider,
        kind=kind,
        method=_printable(method)[:8],
        payload=_printable(payload)[:PAYLOAD_LIMIT],
        remote_addr=remote_addr or None,
        verified=verified,
        outcome=_printable(outcome)[:200],
    )


def _printable(text: str) -> str:
    """The text as logged: a NUL byte (which PostgreSQL text refuses) is shown as \\x00."""
    return text.replace("\x00", "\\x00")


# --- « Payer » ---------------------------------------------------------------------------------


def start_payment(
    *, famille: Famille, user: User | None, commune: Commune, invoice_ids
) -> tuple[Transaction, Redirect]:
    """Starts paying the family's invoices among `invoice_ids` that still have something due
    (others, and ids that are not the family's, are ignored): one Transaction for the sum of
    what they have due, with each invoice's share, and the provider's request, logged. The
    pending transactions any of them was in are replaced by this one. Raises ValidationError
    when nothing is left to pay or the provider cannot start."""
    if famille.commune_id != commune.pk:
        raise ValidationError(_("Aucune facture à régler parmi celles choisies."))
    invoices = billing_selectors.due_invoices(
        famille=famille, commune=commune, ids=parse_ids(invoice_ids)
    )
    debited = selectors_sepa.debit_dates(invoices)  # a mandate pays these: no « Payer »
    invoices = [invoice for invoice in invoices if invoice.pk not in debited]
    if not invoices:
        raise ValidationError(_("Aucune facture à régler parmi celles choisies."))
    try:
        provider = provider_for(commune)
    except LookupError as error:
        raise ValidationError(
            _(
                "Le paiement en ligne n'est pas ouvert dans cette commune : réglez au guichet "
                "de la régie."
            )
        ) from error
    if provider.needs_email and not (user is not None and user.email):
        raise ValidationError(
            _(
                "Le paiement en ligne demande une adresse électronique : indiquez-la dans votre "
                "compte, ou réglez au guichet de la régie."
            )
        )
    with db.atomic():
        # The invoices locked (pk order, as billing's payments lock them), then re-read: what
        # is due now, and the pending transaction each may be in, which this one replaces.
        invoices = _lock_due(invoices)
        if not invoices:
            raise ValidationError(_("Aucune facture à régler parmi celles choisies."))
        amount = sum((invoice.due_amount for invoice in invoices), ZERO)
        transaction = Transaction.objects.create(
            commune=commune,
            famille=famille,
            user=user if user is not None and user.pk else None,
            reference=new_reference(),
            provider=provider.name,
            options=dict(provider.options),
            amount=amount,
        )
        _replace_pending(invoices, by=transaction, user=user)
        TransactionInvoice.objects.bulk_create(
            TransactionInvoice(transaction=transaction, invoice=invoice, amount=invoice.due_amount)
            for invoice in invoices
        )
        audit(
            actor=user,
            action="paiement_en_ligne.demande",
            commune=commune,
            target=transaction,
            famille_id=famille.pk,
            changes={
                "amount": [None, amount],
                "invoices": [None, ", ".join(str(invoice.number) for invoice in invoices)],
            },
        )
    return transaction, send_to_provider(
        commune=commune, provider=provider, transaction=transaction, amount=amount
    )


def send_to_provider(*, commune, provider, transaction: Transaction, amount):
    """The provider's redirection for a transaction just created (outside any transaction: a
    network call): logged, its reference kept; unreachable, the transaction is abandoned and the
    family told in French. One path for invoices and for a plan's instalments."""
    urls = urls_for(commune, reference=transaction.reference, provider=provider.name)
    try:
        redirect = provider.start(transaction, urls)
    except ProviderError as error:
        with db.atomic():
            _move(transaction, TransactionStatus.ABANDONNEE)
            transaction.save(update_fields=["status"])
            _log(
                commune=commune,
                provider=provider.name,
                kind=ExchangeKind.REQUETE,
                transaction=transaction,
                outcome=_("échec de la demande : %(error)s") % {"error": error},
            )
        raise ValidationError(
            _(
                "Le service de paiement en ligne n'a pas pu être joint. Réessayez dans quelques "
                "minutes, ou réglez au guichet de la régie."
            )
        ) from error
    with db.atomic():
        if redirect.provider_reference:
            transaction.provider_reference = redirect.provider_reference[:120]
            transaction.save(update_fields=["provider_reference"])
        _log(
            commune=commune,
            provider=provider.name,
            kind=ExchangeKind.REQUETE,
            transaction=transaction,
            method=redirect.method,
            payload=json.dumps(
                {"url": redirect.url, "fields": dict(redirect.fields), "amount": str(amount)},
                ensure_ascii=False,
            ),
            outcome=_("demande envoyée : %(amount)s") % {"amount": money(amount)},
        )
    return redirect


def _lock_due(invoices: list[Invoice]) -> list[Invoice]:
    """`invoices` locked in pk order and read again: those still due, in their order."""
    locked = {
        invoice.pk: invoice
        for invoice in Invoice.objects.select_for_update(of=("self",))
        .filter(pk__in=[invoice.pk for invoice in invoices])
        .select_related("regie")
        .order_by("pk")
    }
    return [
        locked[invoice.pk]
        for invoice in invoices
        if invoice.pk in locked
        and locked[invoice.pk].status in DUE_STATUSES
        and locked[invoice.pk].due_amount > 0
    ]


def _replace_pending(invoices: list[Invoice], *, by: Transaction, user: User | None) -> None:
    """The pending transactions that hold one of the (locked) `invoices` are replaced by `by`:
    an invoice is in one pending transaction at most. Their bank page may still take the money:
    its notification is handled then (`_decide`)."""
    held = TransactionInvoice.objects.filter(invoice__in=invoices, pending=True)
    for old in (
        Transaction.objects.select_for_update(of=("self",))
        .filter(pk__in=held.values("transaction_id"), status=TransactionStatus.EN_ATTENTE)
        .order_by("pk")
    ):
        _move(old, TransactionStatus.REMPLACEE)
        old.replaced_by = by
        old.save(update_fields=["status", "replaced_by"])
        audit(
            actor=user,
            action="paiement_en_ligne.remplace",
            commune=old.commune,
            target=old,
            famille_id=old.famille_id,
            changes={
                "status": [TransactionStatus.EN_ATTENTE, old.status],
                "replaced_by": [None, by.reference],
            },
        )


def _lock_invoices_of(transaction: Transaction) -> None:
    """Locks the transaction's invoices (pk order) before the transaction itself, the order
    « Payer » takes them in: the two never wait for each other crosswise (a deadlock)."""
    list(
        Invoice.objects.select_for_update(of=("self",))
        .filter(pk__in=TransactionInvoice.objects.filter(transaction=transaction).values("invoice"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- The provider's notification ---------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What became of a notification: the HTTP status to answer the provider (200 when it was
    handled, replays included), the words logged, and the transaction when one was found."""

    status: int
    text: str
    transaction: Transaction | None = None

    @property
    def handled(self) -> bool:
        return self.status == 200


def _claimed(commune: Commune, provider: str, query_string: str, body) -> Transaction | None:
    """The transaction a notification names before it is verified: its options build the
    provider that verifies it (nothing of the notification is believed before)."""
    cls = provider_class(provider)
    if cls is None:
        return None
    claims = cls.claimed(query_string, body)
    if any("\x00" in value for value in claims.values()):
        return None  # in no reference, and PostgreSQL refuses it in a query (a 500, not a 400)
    rows = Transaction.objects.filter(commune=commune, provider=provider).select_related("commune")
    if claims.get("reference"):
        return rows.filter(reference=claims["reference"][:40]).first()
    if claims.get("request_id"):
        return rows.filter(provider_reference=claims["request_id"][:120]).first()
    return None


def _find(commune: Commune, provider: str, verified: Verified) -> Transaction | None:
    if "\x00" in verified.reference + verified.request_id:
        return None  # as in _claimed
    rows = Transaction.objects.filter(commune=commune, provider=provider)
    if verified.reference:
        return rows.filter(reference=verified.reference[:40]).first()
    if verified.request_id:
        return rows.filter(provider_reference=verified.request_id).first()
    return None


def _shares_capped(transaction: Transaction) -> tuple[dict, dict[Regie, Decimal]]:
    """The shares to record per régie, each capped at what its invoice still has due (a
    payment at the counter or another transaction may have settled it meanwhile, or it was
    cancelled), and the excess received per régie."""
    shares = list(transaction.shares.all())
    invoices = {
        invoice.pk: invoice
        for invoice in Invoice.objects.select_for_update(of=("self",))
        .filter(pk__in=[share.invoice_id for share in shares])
        .select_related("regie")
        .order_by("pk")
    }
    by_regie: dict[int, list[tuple[Invoice, Decimal]]] = defaultdict(list)
    excess: dict[Regie, Decimal] = defaultdict(lambda: ZERO)
    for share in shares:
        invoice = invoices[share.invoice_id]
        # Only an invoice still due takes money: cancelled, settled, or in a direct-debit
        # batch (issue 19: never both debited and paid by card), the share is a trop-perçu.
        due = max(invoice.due_amount, ZERO) if invoice.status in DUE_STATUSES else ZERO
        paid = min(share.amount, due)
        if share.amount > paid:
            excess[invoice.regie] += share.amount - paid
        if paid > 0:
            by_regie[invoice.regie_id].append((invoice, paid))
    return by_regie, dict(excess)


def _payer_name(transaction: Transaction) -> str:
    """« Madame Françoise DURAND »: the account that paid online names the receipt. Stored, so
    in the portal's language, not the one of the request that carried the notification (the
    simulator's is the citizen's)."""
    user = transaction.user
    if user is None:
        return ""
    with translation.override(settings.LANGUAGE_CODE):
        civility = user.get_civility_display()
    parts = (civility, user.first_name, user.last_name.upper())
    return " ".join(part for part in parts if part)


def _apply(transaction: Transaction, verified: Verified) -> str:
    """Applies a verified, final notification to the locked transaction: pending, or refused
    or abandoned earlier and now paid."""
    if verified.paid is False:
        to = TransactionStatus.ABANDONNEE if verified.cancelled else TransactionStatus.REFUSEE
        _move(transaction, to)
        transaction.notified_at = timezone.now()
        transaction.save(update_fields=["status", "notified_at"])
        return (
            _("abandonnée : factures toujours dues")
            if verified.cancelled
            else _("refusée par la banque : factures toujours dues")
        )
    _move(transaction, TransactionStatus.PAYEE)
    transaction.notified_at = timezone.now()
    if verified.provider_reference:
        transaction.provider_reference = verified.provider_reference
    transaction.save(update_fields=["status", "notified_at", "provider_reference"])
    by_regie, excess = _shares_capped(transaction)
    famille = transaction.famille
    numbers = []
    for allocations in by_regie.values():
        payment = billing.record_payment(
            regie=allocations[0][0].regie,
            famille=famille,
            allocations=allocations,
            method=PaymentMethod.CARTE,
            received_on=timezone.localdate(),
            actor=None,
            reference=transaction.provider_reference,
            transaction_reference=transaction.reference,
            payer_name=_payer_name(transaction),
        )
        numbers.append(str(payment.number))
    for regie, amount in excess.items():
        _record_trop_percu(transaction=transaction, regie=regie, amount=amount)
    text = _("payée")
    if numbers:
        text = _("payée : reçu n° %(numbers)s") % {"numbers": ", ".join(numbers)}
    if excess:
        text = _("%(outcome)s ; trop-perçu à rembourser : %(amount)s") % {
            "outcome": text,
            "amount": money(sum(excess.values(), ZERO)),
        }
    return text


def handle_notification(
    *,
    commune: Commune,
    provider: str,
    query_string: str,
    body,
    remote_addr: str | None,
    method: str = "POST",
) -> Outcome:
    """Verifies and applies a provider's server notification; logs it whatever happens, except
    past the limit of unsigned ones from its address (refused unread, unlogged)."""
    if unsigned_notifications_throttled(commune=commune, ip=remote_addr):
        return Outcome(429, "trop de notifications non signées")
    raw = body.encode() if isinstance(body, str) else body or b""
    body_text = raw.decode("utf-8", errors="replace")
    payload = f"?{query_string}\n{body_text}" if query_string else body_text
    log = {
        "commune": commune,
        "provider": provider,
        "kind": ExchangeKind.NOTIFICATION,
        "method": method,
        "payload": payload,
        "remote_addr": remote_addr,
    }

    def refuse(outcome: str) -> None:
        _log(
            **{**log, "payload": unsigned_excerpt(query_string, raw)},
            verified=False,
            outcome=outcome,
        )
        record_unsigned_notification(commune=commune, ip=remote_addr)

    if not Transaction.objects.filter(commune=commune, provider=provider).exists():
        # Nothing to notify about: no call to the provider (PayFiP's web service) for it.
        refuse(_("refusée : aucun paiement par ce prestataire"))
        return Outcome(400, "prestataire inattendu")
    try:
        claimed = _claimed(commune, provider, query_string, body)
        builder = (
            provider_for_transaction(claimed)
            if claimed is not None
            else provider_for(commune, provider)
        )
        verified = builder.handle_notification(query_string, body)
    except (LookupError, NotificationError) as error:
        refuse(_("refusée : illisible (%(error)s)") % {"error": error})
        return Outcome(400, "illisible")
    if not verified.signed:
        refuse(_("refusée : non signée ou signature invalide"))
        return Outcome(403, "signature invalide")
    found = _find(commune, provider, verified)
    if found is None:
        _log(**log, verified=True, outcome=_("refusée : référence inconnue"))
        return Outcome(400, "référence inconnue")
    try:
        with db.atomic():
            _lock_invoices_of(found)
            transaction = (
                Transaction.objects.select_for_update(of=("self",))
                .select_related("famille")
                .get(pk=found.pk)
            )
            text, status = _decide(transaction, verified)
            _log(**log, transaction=transaction, verified=True, outcome=text)
    except ValidationError as error:
        text = _("erreur : %(messages)s") % {"messages": "; ".join(error.messages)}
        _log(**log, transaction=found, verified=True, outcome=text)
        return Outcome(400, text, found)
    return Outcome(status, text, transaction)


def unsigned_excerpt(query_string: str, raw: bytes) -> str:
    """The first UNSIGNED_EXCERPT_BYTES of what an unsigned notification carried (query string
    and body together), and how much was left out."""
    whole = (f"?{query_string}\n".encode() if query_string else b"") + raw
    excerpt = whole[:UNSIGNED_EXCERPT_BYTES].decode("utf-8", errors="replace")
    if len(whole) > UNSIGNED_EXCERPT_BYTES:
        excerpt += _("\n[… %(total)d octets reçus, seuls les %(kept)d premiers sont gardés]") % {
            "total": len(whole),
            "kept": UNSIGNED_EXCERPT_BYTES,
        }
    return excerpt


def _decide(transaction: Transaction, verified: Verified) -> tuple[str, int]:
    """(outcome, HTTP status) for a verified notification on the locked transaction."""
    if transaction.status == TransactionStatus.REMPLACEE and not verified.paid:
        return _("remplacée par un autre paiement : ignorée"), 200
    if transaction.status == TransactionStatus.PAYEE or (
        transaction.status != TransactionStatus.EN_ATTENTE and not verified.paid
    ):
        return _("rejouée : ignorée"), 200
    if (
        verified.request_id
        and transaction.provider_reference
        and verified.request_id != transaction.provider_reference
    ):
        return _("refusée : identifiant de paiement inattendu"), 400
    if verified.paid is None:
        detail = verified.detail or _("sans détail")
        return _("en attente : rien à faire (%(detail)s)") % {"detail": detail}, 200
    # A payment must carry the transaction's amount; a refusal may carry none (PayFiP's
    # « idOp inconnu ou expiré »), but not another one.
    amount_needed = verified.paid or verified.amount is not None
    if amount_needed and verified.amount != transaction.amount:
        shown = money(verified.amount) if verified.amount is not None else _("absent")
        return (
            _("refusée : montant %(given)s au lieu de %(expected)s")
            % {"given": shown, "expected": money(transaction.amount)},
            400,
        )
    return _apply(transaction, verified), 200


def simulate_notification(
    *, transaction: Transaction, result: str, remote_addr: str | None
) -> Outcome:
    """The simulator page's buttons: its signed notification, delivered in-process through
    the same path as a provider's HTTP notification (and logged the same way)."""
    from parvis.payments.providers import simulateur

    commune = transaction.commune
    body = simulateur.notification(
        provider_for_transaction(transaction).secret,
        reference=transaction.reference,
        amount=transaction.amount,
        result=result,
    )
    return handle_notification(
        commune=commune,
        provider=Provider.SIMULATEUR,
        query_string="",
        body=body,
        remote_addr=remote_addr,
        method="interne",
    )


def log_return(
    *, transaction: Transaction, query_string: str, remote_addr: str | None, shown: str
) -> Exchange:
    """The browser's return, logged with what the page showed. Changes nothing."""
    return _log(
        commune=transaction.commune,
        provider=transaction.provider,
        kind=ExchangeKind.RETOUR,
        transaction=transaction,
        method="GET",
        payload=query_string,
        remote_addr=remote_addr,
        outcome=_("affiché : %(state)s") % {"state": TransactionStatus(shown).label},
    )


# --- Trop-perçus ---------------------------------------------------------------------------------


def _move_trop_percu(trop_percu: TropPercu, to: str, *, actor: User | None) -> None:
    """Moves a locked trop-perçu along TROP_PERCU_TRANSITIONS, with its history row."""
    if to not in TROP_PERCU_TRANSITIONS[trop_percu.status]:
        raise ValidationError(
            _("Un trop-perçu « %(from)s » ne peut pas passer à « %(to)s ».")
            % {
                "from": TropPercuStatus(trop_percu.status).label,
                "to": TropPercuStatus(to).label,
            }
        )
    TropPercuChange.objects.create(
        trop_percu=trop_percu,
        from_status=trop_percu.status,
        to_status=to,
        actor=actor if actor is not None and actor.pk else None,
    )
    trop_percu.status = to


def _record_trop_percu(*, transaction: Transaction, regie: Regie, amount: Decimal) -> TropPercu:
    """The excess a paid transaction brought to a régie, to refund: a row with its history and
    an audit row on the family. Called inside the notification's database transaction (one
    notification is applied once, so one row per transaction and régie)."""
    trop_percu = TropPercu.objects.create(
        commune_id=transaction.commune_id,
        regie=regie,
        famille_id=transaction.famille_id,
        transaction=transaction,
        amount=amount,
    )
    TropPercuChange.objects.create(
        trop_percu=trop_percu, from_status="", to_status=trop_percu.status, actor=None
    )
    audit(
        actor=None,
        action="trop_percu.constate",
        commune=transaction.commune,
        target=trop_percu,
        famille_id=transaction.famille_id,
        changes={
            "amount": [None, amount],
            "transaction": [None, transaction.reference],
            "regie": [None, regie.name],
        },
    )
    return trop_percu


@db.atomic
def refund_trop_percu(
    *,
    trop_percu: TropPercu,
    actor: User,
    method: str,
    refunded_on: date | None,
    reference: str = "",
) -> TropPercu:
    """A régie agent records that a trop-perçu was refunded: by which means, on which day, with
    which reference (required but for cash), and who recorded it. Once: a refunded one stays
    so. Errors are per field (`method`, `refunded_on`, `reference`)."""
    reference = (reference or "").strip()
    trop_percu = (
        TropPercu.objects.select_for_update(of=("self",))
        .select_related("transaction", "commune")
        .get(pk=trop_percu.pk)
    )
    if trop_percu.status == TropPercuStatus.REMBOURSE:
        raise ValidationError(_("Ce trop-perçu est déjà remboursé."))
    errors = {}
    if method not in RefundMethod.values:
        errors["method"] = _("Choisissez le moyen du remboursement.")
    elif method != RefundMethod.ESPECES and not reference:
        errors["reference"] = _(
            "Indiquez la référence du remboursement : référence du virement, numéro du chèque "
            "ou de l'opération de la banque."
        )
    today = timezone.localdate()
    noticed = timezone.localdate(trop_percu.created_at)
    if refunded_on is None:
        errors["refunded_on"] = _("Indiquez la date du remboursement.")
    elif refunded_on > today:
        errors["refunded_on"] = _("La date du remboursement ne peut pas être dans le futur.")
    elif refunded_on < noticed:
        errors["refunded_on"] = _(
            "Le trop-perçu date du %(day)s : le remboursement ne peut pas le précéder."
        ) % {"day": noticed.strftime("%d/%m/%Y")}
    if errors:
        raise ValidationError(errors)
    before = trop_percu.status
    _move_trop_percu(trop_percu, TropPercuStatus.REMBOURSE, actor=actor)
    trop_percu.refund_method = method
    trop_percu.refunded_on = refunded_on
    trop_percu.refund_reference = reference[:120]
    trop_percu.refunded_by = actor if actor is not None and actor.pk else None
    trop_percu.refunded_at = timezone.now()
    trop_percu.save(
        update_fields=[
            "status",
            "refund_method",
            "refunded_on",
            "refund_reference",
            "refunded_by",
            "refunded_at",
        ]
    )
    audit(
        actor=actor,
        action="trop_percu.rembourse",
        commune=trop_percu.commune,
        target=trop_percu,
        famille_id=trop_percu.famille_id,
        changes={
            "status": [before, trop_percu.status],
            "amount": [None, trop_percu.amount],
            "refund_method": [None, method],
            "refunded_on": [None, refunded_on],
            "refund_reference": [None, trop_percu.refund_reference],
        },
    )
    return trop_percu
