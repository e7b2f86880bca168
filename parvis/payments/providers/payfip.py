"""PayFiP (DGFiP) through eopayment's `payfip_ws` backend (options: numcli, saisie T, X or W).

Why `payfip_ws` and not eopayment's older `tipi` backend: `tipi.response()` reads the result
(`resultrans=P`) from the notification's own fields and reports every response as signed, so
anyone could post « paid » for any reference. PayFiP notifications carry no signature at all.
`payfip_ws` does not trust the notification: it takes only the payment's `idOp` from it and
asks DGFiP's web service (SOAP over HTTPS, server to server: recupererDetailPaiementSecurise)
for the result, the amount and our reference (refdet). So what Parvis verifies is:

- the result, amount and reference come from DGFiP's answer, never from the notification;
- the idOp is the one DGFiP gave when the payment started (stored on the transaction);
- the reference is a transaction of this commune started with PayFiP, and the amount is its
  amount (services.handle_notification).

`Verified.signed` is True for that reason only when DGFiP answered; an unreachable web
service or an unknown idOp is an unreadable notification (refused, logged; PayFiP retries)."""

from __future__ import annotations

import re
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from parvis.payments.providers.base import (
    NotificationError,
    ProviderBase,
    ProviderError,
    Redirect,
    Urls,
    Verified,
    cents_to_euros,
    form_fields,
    register,
)

SAISIES = ("T", "X", "W")
IDOP = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def _eopayment():
    import eopayment
    import eopayment.payfip_ws

    return eopayment


@register
class Payfip(ProviderBase):
    name = "payfip"
    label = _("PayFiP (DGFiP)")
    needs_email = True
    continue_label = _("Continuer vers le paiement sécurisé PayFiP")

    @classmethod
    def validate_options(cls, options: dict, secret: str) -> None:
        errors = []
        if not re.fullmatch(r"\d{6}", str(options.get("numcli", ""))):
            errors.append(gettext("« numcli » : le numéro de client PayFiP, 6 chiffres."))
        if options.get("saisie", "T") not in SAISIES:
            errors.append(gettext("« saisie » : T (essais), X (activation) ou W (production)."))
        if errors:
            raise ValidationError(errors)

    def _backend(self, **extra):
        options = {
            "numcli": str(self.options.get("numcli", "")),
            "saisie": self.options.get("saisie", "T"),
            **extra,
        }
        eopayment = _eopayment()
        return eopayment.Payment(eopayment.PAYFIP_WS, options)

    def start(self, transaction, urls: Urls) -> Redirect:
        email = transaction.user.email if transaction.user_id else ""
        if not email:
            raise ProviderError("adresse électronique absente")
        backend = self._backend(
            normal_return_url=urls.return_url, automatic_return_url=urls.notification_url
        )
        try:
            idop, _kind, url = backend.request(
                str(transaction.amount),
                email=email,
                refdet=transaction.reference,
                exer=str(transaction.created_at.year),
                subject=f"Paiement {transaction.reference}",
            )
        except Exception as error:  # PayFiPError, a bad option, an amount out of range…
            raise ProviderError(f"{type(error).__name__}: {error}") from error
        return Redirect(url=url, method="GET", provider_reference=str(idop))

    @classmethod
    def claimed(cls, query_string: str, body) -> dict[str, str]:
        fields = form_fields(query_string, body)
        return {"request_id": fields.get("idOp") or fields.get("idop") or ""}

    def handle_notification(self, query_string: str, body) -> Verified:
        eopayment = _eopayment()
        fields = form_fields(query_string, body)
        idop = fields.get("idOp") or fields.get("idop") or ""
        if not IDOP.match(idop):
            raise NotificationError("idOp absent ou illisible")
        try:
            response = self._backend().response("idop=" + quote(idop))
        except Exception as error:  # PayFiPError: web service unreachable, idOp unknown
            raise NotificationError(f"{type(error).__name__}: {error}") from error
        data = {
            key: "" if value is None else str(value) for key, value in response.bank_data.items()
        }
        if response.result == eopayment.PAID:
            paid, cancelled = True, False
        elif response.result == eopayment.DENIED:
            paid, cancelled = False, False
        elif response.result in (eopayment.CANCELLED, eopayment.EXPIRED):
            paid, cancelled = False, True
        else:  # WAITING, ERROR: nothing final
            paid, cancelled = None, False
        amount = cents_to_euros(data["montant"]) if data.get("montant") else None
        return Verified(
            reference=data.get("refdet", ""),
            paid=paid,
            cancelled=cancelled,
            amount=amount,
            provider_reference=(data.get("numauto") or idop)[:120],
            signed=True,
            raw={"idOp": idop, **data},
            request_id=idop,
            detail=str(response.bank_status)[:120],
        )
