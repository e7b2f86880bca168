"""The provider interface: what Parvis asks of a payment provider, whatever its protocol.

A provider is built for one commune with its options and secret (`ProviderConfig`, or the
simulator's defaults) and does three things:

- `start(transaction, urls)` → a `Redirect`: where the family's browser goes to pay (a URL, or a
  form to post), and, when the provider hands one out at once, its own id of the request;
- `handle_return(data)` → the status the browser's return *claims*, for display only: it is not
  signed and never changes anything;
- `handle_notification(query_string, body)` → a `Verified`: what the provider's server says,
  with `signed` telling whether Parvis could check that the provider said it. Only a signed
  notification changes a transaction (parvis.payments.services.handle_notification).

Implementations register themselves by name (the `Provider` choices of the models)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import ClassVar
from urllib.parse import parse_qs

from django.utils.translation import gettext_lazy as _

from parvis.money import CENT

# What the browser's return claims (display only).
RETURN_PAID = "payee"
RETURN_REFUSED = "refusee"
RETURN_CANCELLED = "abandonnee"


class NotificationError(Exception):
    """A notification Parvis cannot read (missing fields, garbage): refused, logged."""


class ProviderError(Exception):
    """The provider could not start a payment (unreachable, rejected the request)."""


@dataclass(frozen=True)
class Urls:
    """Where the provider sends the browser back and its server notification (absolute), and
    the simulator's own page (a path)."""

    return_url: str
    notification_url: str
    simulator_url: str = ""


@dataclass(frozen=True)
class Redirect:
    """Where the browser goes to pay: `url` with `method`, and `fields` to post (a form)."""

    url: str
    method: str = "GET"
    fields: tuple[tuple[str, str], ...] = ()
    # The provider's id of this request when it gives one at once (PayFiP's idop).
    provider_reference: str = ""

    @property
    def is_form(self) -> bool:
        return self.method.upper() == "POST" or bool(self.fields)


@dataclass(frozen=True)
class Verified:
    """A notification as the provider implementation read and checked it.

    `paid` is True (paid), False (refused, or abandoned when `cancelled`), or None (nothing
    final yet). `amount` is in euros, read from the notification, never from the transaction.
    `request_id` is the provider's id of the request when the notification names one (PayFiP's
    idop), compared with the one given at start."""

    reference: str
    paid: bool | None
    amount: Decimal | None
    provider_reference: str = ""
    signed: bool = False
    raw: dict = field(default_factory=dict)
    cancelled: bool = False
    request_id: str = ""
    detail: str = ""


def cents_to_euros(value) -> Decimal:
    """« 7380 » → Decimal("73.80"); anything else is unreadable."""
    text = str(value).strip()
    if not text.isdigit() or len(text) > 12:
        raise NotificationError("montant illisible")
    try:
        return (Decimal(text) / 100).quantize(CENT)
    except InvalidOperation as error:  # pragma: no cover - digits always convert
        raise NotificationError("montant illisible") from error


def euros_to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def form_fields(query_string: str, body) -> dict[str, str]:
    """The notification's fields: the body's when it has any, else the query string's. The
    first value of each name."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    for source in (body or "", query_string or ""):
        parsed = parse_qs(source, keep_blank_values=True)
        if parsed:
            return {key: values[0] for key, values in parsed.items()}
    return {}


class ProviderBase:
    """One payment provider for one commune."""

    name: ClassVar[str]
    label: ClassVar = ""
    # Whether the provider needs the payer's e-mail address.
    needs_email: ClassVar[bool] = False
    # The label of the button that leaves Parvis for the provider's page.
    continue_label: ClassVar = _("Continuer vers le paiement sécurisé")

    def __init__(self, *, options: dict | None = None, secret: str = ""):
        self.options = dict(options or {})
        self.secret = secret or ""

    @classmethod
    def validate_options(cls, options: dict, secret: str) -> None:
        """Raises ValidationError (in French) when the commune's options cannot work."""

    @classmethod
    def validate_secret(cls, secret: str) -> None:
        """Raises ValidationError when the provider cannot work with this secret."""

    def form_origin(self) -> str:
        """The origin the browser posts the payment form to (the page's CSP allows it)."""
        return ""

    def start(self, transaction, urls: Urls) -> Redirect:
        raise NotImplementedError

    def handle_return(self, data) -> str | None:
        """RETURN_PAID, RETURN_REFUSED, RETURN_CANCELLED or None: what the browser's return
        says. For display only."""
        return None

    def handle_notification(self, query_string: str, body) -> Verified:
        raise NotImplementedError

    @classmethod
    def claimed(cls, query_string: str, body) -> dict[str, str]:
        """Which transaction a notification names, read before anything is verified:
        {"reference": …} (ours) or {"request_id": …} (the provider's, given at start). Only to
        build the provider with that transaction's own options; believed once verified only."""
        return {"reference": form_fields(query_string, body).get("reference", "")}


REGISTRY: dict[str, type[ProviderBase]] = {}


def register(cls: type[ProviderBase]) -> type[ProviderBase]:
    REGISTRY[cls.name] = cls
    return cls


def provider_class(name: str) -> type[ProviderBase] | None:
    return REGISTRY.get(name)
