"""Paybox (Verifone) through eopayment's `paybox` backend.

The request is the form eopayment builds: the PBX_* fields signed with the commune's HMAC key
(PBX_HMAC, HMAC-SHA512 over the fields in order, key given as hexadecimal), posted by the
family's browser to Paybox's page. Paybox's server notification (PBX_REPONDRE_A) carries the
fields of PBX_RETOUR and `signature`, an RSA-SHA1 signature by Paybox (base64, URL-encoded)
that eopayment checks with Paybox's public key. eopayment still answers for an unsigned or
badly signed notification, and may say PAID: Parvis takes `response.signed` into account
and nothing else."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from parvis.payments.providers.base import (
    RETURN_CANCELLED,
    RETURN_PAID,
    RETURN_REFUSED,
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

PLATFORMS = ("test", "prod", "backup")
# Paybox's code for « en attente de validation par l'émetteur »: nothing final yet.
WAITING_CODE = "99999"


def _eopayment():
    import eopayment
    import eopayment.paybox

    return eopayment


@register
class Paybox(ProviderBase):
    name = "paybox"
    label = _("Paybox (Verifone)")
    needs_email = True
    continue_label = _("Continuer vers le paiement sécurisé Paybox")

    @classmethod
    def validate_options(cls, options: dict, secret: str) -> None:
        errors = []
        if not re.fullmatch(r"\d{7}", str(options.get("site", ""))):
            errors.append(gettext("« site » : le numéro de site Paybox, 7 chiffres."))
        if not re.fullmatch(r"\d{2,3}", str(options.get("rang", ""))):
            errors.append(gettext("« rang » : le numéro de rang Paybox, 2 ou 3 chiffres."))
        if not re.fullmatch(r"\d{1,9}", str(options.get("identifiant", ""))):
            errors.append(gettext("« identifiant » : l'identifiant Paybox, 1 à 9 chiffres."))
        if options.get("platform", "test") not in PLATFORMS:
            errors.append(gettext("« platform » : test, prod ou backup."))
        if errors:
            raise ValidationError(errors)

    @classmethod
    def validate_secret(cls, secret: str) -> None:
        if not secret:
            raise ValidationError(gettext("Paybox demande la clé HMAC du back-office Paybox."))
        if not re.fullmatch(r"(?:[0-9a-fA-F]{2})+", secret):
            raise ValidationError(
                gettext("La clé HMAC de Paybox s'écrit en hexadécimal (0-9, A-F), par paires.")
            )

    def _backend(self, **extra):
        options = {
            "site": str(self.options.get("site", "")),
            "rang": str(self.options.get("rang", "")),
            "identifiant": str(self.options.get("identifiant", "")),
            "platform": self.options.get("platform", "test"),
            "shared_secret": self.secret,
            **extra,
        }
        eopayment = _eopayment()
        return eopayment.Payment(eopayment.PAYBOX, options)

    def form_origin(self) -> str:
        eopayment = _eopayment()
        url = eopayment.paybox.URLS.get(self.options.get("platform", "test"), "")
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""

    def start(self, transaction, urls: Urls) -> Redirect:
        email = transaction.user.email if transaction.user_id else ""
        if not email:
            raise ProviderError("adresse électronique absente")
        backend = self._backend(
            normal_return_url=urls.return_url, automatic_return_url=urls.notification_url
        )
        try:
            _id, _kind, form = backend.request(
                str(transaction.amount), email=email, transaction_id=transaction.reference
            )
        except Exception as error:  # a bad key or option: eopayment raises many kinds
            raise ProviderError(f"{type(error).__name__}: {error}") from error
        fields = tuple((f["name"], f["value"]) for f in form.fields)
        return Redirect(url=form.url, method="POST", fields=fields)

    def handle_return(self, data) -> str | None:
        code = data.get("erreur", "")
        if not code:
            return None
        if code == "00000":
            return RETURN_PAID
        if code == "00001":
            return RETURN_CANCELLED
        return RETURN_REFUSED

    @classmethod
    def claimed(cls, query_string: str, body) -> dict[str, str]:
        fields = form_fields(query_string or "", "")  # as handle_notification reads it
        if "erreur" not in fields:
            fields = form_fields("", body)
        return {"reference": fields.get("reference", "")}

    def handle_notification(self, query_string: str, body) -> Verified:
        eopayment = _eopayment()
        source = query_string or ""
        if "erreur" not in form_fields(source, ""):
            source = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        try:
            response = self._backend().response(source or "", callback=True)
            fields = {key: values[0] for key, values in response.bank_data.items()}
            amount = cents_to_euros(fields["montant"])
        except NotificationError:
            raise
        except Exception as error:  # garbage: missing fields, bad base64, bad encoding…
            raise NotificationError(f"{type(error).__name__}: {error}") from error
        paid: bool | None
        if response.result == eopayment.PAID:
            paid = True
        elif fields.get("erreur") == WAITING_CODE:
            paid = None
        else:
            paid = False
        provider_reference = fields.get("numero_transaction") or fields.get("numero_appel") or ""
        return Verified(
            reference=fields.get("reference", ""),
            paid=paid,
            cancelled=response.result == eopayment.CANCELLED,
            amount=amount,
            provider_reference=provider_reference[:120],
            signed=response.signed is True,
            raw=fields,
            detail=str(response.bank_status)[:120],
        )
