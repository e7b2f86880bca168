"""The built-in payment simulator, the default provider: Parvis's own page that looks like a
bank's card page (parvis.payments.views.simulateur). Its « Payer », « Refuser le paiement » and
« Abandonner » buttons build a server notification signed with the commune's key (HMAC-SHA256,
hex) and deliver it through the same path as a real provider's (services.handle_notification);
the same signed notification can be posted to the notification URL (a test, or curl).

Notification fields: reference (the transaction's), montant (in cents), resultat (paye,
refuse or abandonne), numero (the simulated bank's reference) and signature, the HMAC over
« reference=…&montant=…&resultat=…&numero=… » in that order."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from parvis.payments.providers.base import (
    NotificationError,
    ProviderBase,
    Redirect,
    Urls,
    Verified,
    cents_to_euros,
    euros_to_cents,
    form_fields,
    register,
)

PAID, REFUSED, CANCELLED = "paye", "refuse", "abandonne"
RESULTS = (PAID, REFUSED, CANCELLED)
SIGNED_FIELDS = ("reference", "montant", "resultat", "numero")


def default_secret(commune) -> str:
    """The simulator's key for a commune without its own: derived from SECRET_KEY, so it
    differs per commune and nobody has to set it."""
    message = f"parvis.payments.simulateur:{commune.pk}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def signature(secret: str, fields: dict) -> str:
    message = "&".join(f"{name}={fields.get(name, '')}" for name in SIGNED_FIELDS)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def notification(secret: str, *, reference: str, amount, result: str, number: str = "") -> str:
    """The simulator's signed notification, URL-encoded, as the page sends it."""
    fields = {
        "reference": reference,
        "montant": str(euros_to_cents(amount)),
        "resultat": result,
        "numero": number or "SIM" + secrets.token_hex(6).upper(),
    }
    fields["signature"] = signature(secret, fields)
    return urlencode(fields)


@register
class Simulateur(ProviderBase):
    name = "simulateur"
    label = _("Simulateur de paiement (essais)")
    continue_label = _("Continuer vers le simulateur de paiement")

    def start(self, transaction, urls: Urls) -> Redirect:
        return Redirect(url=urls.simulator_url, method="GET")

    def handle_notification(self, query_string: str, body) -> Verified:
        fields = form_fields(query_string, body)
        reference, result = fields.get("reference", ""), fields.get("resultat", "")
        if not reference or "montant" not in fields:
            raise NotificationError("reference ou montant absent")
        if result not in RESULTS:
            raise NotificationError("resultat inconnu")
        amount = cents_to_euros(fields["montant"])
        given = fields.get("signature", "")
        signed = bool(given) and bool(self.secret)
        signed = signed and hmac.compare_digest(
            signature(self.secret, fields).encode(), given.lower().encode()
        )
        return Verified(
            reference=reference,
            paid=result == PAID,
            cancelled=result == CANCELLED,
            amount=amount,
            provider_reference=fields.get("numero", "")[:120],
            signed=signed,
            raw=fields,
        )
