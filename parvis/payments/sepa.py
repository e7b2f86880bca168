"""SEPA direct debit's rules, without the database (issue 19 §1): the creditor identifier's
check digits (ISO 7064 mod 97-10), the debtor's IBAN and BIC (schwifty), the SEPA Latin
character set, the reject reason codes in plain French, the mandate's wording, the debit date a
pre-notification announces, and the pain.008 file (sepaxml, checked against its XSD with
xmlschema).

Choice on a change of account: a family that changes its IBAN signs a **new mandate** (new RUM,
first debit FRST), and the old one is « remplacé ». The SEPA rulebook also allows an amendment
of the same mandate, but the pain.008 must then carry the original account (AmdmntInd,
OrgnlDbtrAcct, or « SMNDA » for another bank), which sepaxml cannot write; and the new account's
holder consents anew with the same e-mailed code as any mandate."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parvis.money import CENT

SCHEMA = "pain.008.001.02"
ICS_PATTERN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{3}[A-Z0-9]{1,28}$")
# The SEPA Latin character set (EPC217-08): what a name or a reference may hold.
_NOT_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
RUM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O nor 1/I to misread on paper

# ISO 20022 reason codes of R-transactions, as a family reads them.
REJECT_REASONS = {
    "AM04": gettext_lazy("provision insuffisante sur le compte"),
    "AC04": gettext_lazy("compte clôturé"),
    "AC01": gettext_lazy("numéro de compte (IBAN) incorrect"),
    "AC06": gettext_lazy("compte bloqué"),
    "AG01": gettext_lazy("prélèvements interdits sur ce compte"),
    "AM05": gettext_lazy("prélèvement en double"),
    "MD01": gettext_lazy("aucun mandat valable (mandat révoqué ou inconnu de la banque)"),
    "MD02": gettext_lazy("informations du mandat incorrectes ou incomplètes"),
    "MD06": gettext_lazy("remboursement demandé par le titulaire du compte"),
    "MD07": gettext_lazy("titulaire du compte décédé"),
    "MS02": gettext_lazy("prélèvement refusé par le titulaire du compte"),
    "MS03": gettext_lazy("motif non communiqué par la banque"),
    "RC01": gettext_lazy("code de la banque (BIC) incorrect"),
    "RR01": gettext_lazy("identification du titulaire manquante (raison réglementaire)"),
    "SL01": gettext_lazy("service particulier de la banque du titulaire"),
}


def reject_label(code: str) -> str:
    reason = REJECT_REASONS.get(code)
    return f"{code} — {reason}" if reason else code


# --- Identifiers ---------------------------------------------------------------------------------


def _mod97(text: str) -> int:
    return int("".join(str(int(char, 36)) for char in text)) % 97


def ics_check_digits(country: str, national_id: str) -> str:
    """The two check digits of a creditor identifier (business code excluded from the sum)."""
    return f"{98 - _mod97(national_id + country + '00'):02d}"


def clean_ics(value: str) -> str:
    """The creditor identifier without spaces, upper case; ValidationError when its form or its
    check digits are wrong (« FR12ZZZ123456 »)."""
    ics = re.sub(r"\s+", "", value or "").upper()
    if not ICS_PATTERN.match(ics):
        raise ValidationError(
            _(
                "Un identifiant créancier SEPA s'écrit comme FR12ZZZ123456 (13 caractères en "
                "France)."
            )
        )
    if ics.startswith("FR") and len(ics) != 13:
        raise ValidationError(_("Un identifiant créancier SEPA français a 13 caractères."))
    if _mod97(ics[7:] + ics[:4]) != 1:
        raise ValidationError(
            _("Les chiffres de contrôle de cet identifiant créancier sont faux : vérifiez-le.")
        )
    return ics


def clean_iban(value: str) -> tuple[str, str]:
    """(IBAN without spaces, the BIC derived from it or ""). ValidationError in French when the
    IBAN is malformed, its check digits wrong, or its country outside the SEPA zone."""
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    text = re.sub(r"\s+", "", value or "").upper()
    if not text:
        raise ValidationError(_("Indiquez l'IBAN du compte."))
    try:
        iban = IBAN(text)
    except SchwiftyException as error:
        raise ValidationError(
            _("Cet IBAN n'est pas valable (vérifiez chaque caractère) : %(detail)s")
            % {"detail": _iban_error(error)}
        ) from error
    if not iban.in_sepa_zone:
        raise ValidationError(_("Ce compte n'est pas dans la zone SEPA."))
    bic = iban.bic
    return iban.compact, bic.compact if bic is not None else ""


def _iban_error(error) -> str:
    name = type(error).__name__
    return {
        "InvalidChecksumDigits": _("la clé de contrôle ne correspond pas"),
        "InvalidLength": _("la longueur ne convient pas à ce pays"),
        "InvalidCountryCode": _("le code pays est inconnu"),
        "InvalidBBANChecksum": _("la clé RIB ne correspond pas"),
    }.get(name, _("la forme ne convient pas"))


def clean_bic(value: str) -> str:
    from schwifty import BIC
    from schwifty.exceptions import SchwiftyException

    text = re.sub(r"\s+", "", value or "").upper()
    try:
        return BIC(text).compact
    except SchwiftyException as error:
        raise ValidationError(_("Ce BIC n'est pas valable (8 ou 11 caractères).")) from error


def format_iban(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def latin(text: str, limit: int = 70) -> str:
    """`text` in the SEPA Latin character set (accents folded, « & » and others dropped)."""
    from text_unidecode import unidecode

    return " ".join(_NOT_SEPA.sub(" ", unidecode(text or "")).split())[:limit]


def new_rum(regie_code: str) -> str:
    """A unique mandate reference: « PVS-ENF-» and 12 random characters (35 at most, SEPA
    Latin, never reused: the database refuses a duplicate per régie)."""
    return f"PVS-{latin(regie_code, 12)}-" + "".join(
        secrets.choice(RUM_ALPHABET) for _ in range(12)
    )


def new_code() -> str:
    """The 6-digit code e-mailed to confirm a consent."""
    return f"{secrets.randbelow(1_000_000):06d}"


# --- Dates ---------------------------------------------------------------------------------------


def debit_date(*, due_on: date, notified_on: date, notice_days: int) -> date:
    """The day an invoice is debited: its due date, but never sooner than the notice the
    mandate announces after the family was told (the invoice, or the mandate signed later)."""
    return max(due_on, notified_on + timedelta(days=notice_days))


def earliest_collection(today: date) -> date:
    """A SEPA Core file reaches the bank at least one business day before its date: the
    earliest collection date a batch prepared today may carry (the next working day after
    tomorrow, weekends skipped)."""
    day = today + timedelta(days=2)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


# --- The mandate's wording -----------------------------------------------------------------------


def mandate_wording(creditor_name: str) -> str:
    """The text the SEPA rulebook requires on every Core mandate (French version)."""
    return _(
        "En signant ce formulaire de mandat, vous autorisez %(creditor)s à envoyer des "
        "instructions à votre banque pour débiter votre compte, et votre banque à débiter votre "
        "compte conformément aux instructions de %(creditor)s. Vous bénéficiez du droit d'être "
        "remboursé par votre banque selon les conditions décrites dans la convention que vous "
        "avez passée avec elle. Une demande de remboursement doit être présentée dans les 8 "
        "semaines suivant la date de débit de votre compte pour un prélèvement autorisé. Vos "
        "droits concernant le présent mandat sont expliqués dans un document que vous pouvez "
        "obtenir auprès de votre banque."
    ) % {"creditor": creditor_name}


# --- pain.008 ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Creditor:
    name: str
    ics: str
    iban: str
    bic: str


@dataclass(frozen=True)
class Line:
    """One debit of the file."""

    end_to_end_id: str
    amount: Decimal
    sequence_type: str  # FRST / RCUR
    rum: str
    signed_on: date
    debtor_name: str
    debtor_iban: str
    debtor_bic: str
    label: str


def to_cents(amount: Decimal) -> int:
    if amount != amount.quantize(CENT) or amount <= 0:
        raise ValueError(f"not an amount in cents: {amount}")
    return int(amount * 100)


def pain008(
    *, creditor: Creditor, collection_date: date, lines: list[Line], message_id: str
) -> bytes:
    """The pain.008.001.02 file of `lines` (one payment information block per sequence type),
    validated against the XSD by sepaxml (xmlschema); its group header's control sum and count
    are checked against the lines (ValueError otherwise)."""
    from sepaxml import SepaDD

    config = {
        "name": latin(creditor.name),
        "IBAN": creditor.iban,
        "BIC": creditor.bic,
        "batch": True,
        "creditor_id": creditor.ics,
        "currency": "EUR",
    }
    sepa = SepaDD(config, schema=SCHEMA, clean=True)
    for line in lines:
        payment = {
            "name": latin(line.debtor_name),
            "IBAN": line.debtor_iban,
            "amount": to_cents(line.amount),
            "type": line.sequence_type,
            "collection_date": collection_date,
            "mandate_id": line.rum,
            "mandate_date": line.signed_on,
            "description": latin(line.label, 140),
            "endtoend_id": line.end_to_end_id,
        }
        if line.debtor_bic:
            payment["BIC"] = line.debtor_bic
        sepa.add_payment(payment)
    xml = sepa.export(validate=True)
    xml = re.sub(rb"<MsgId>[^<]*</MsgId>", f"<MsgId>{message_id}</MsgId>".encode(), xml, count=1)
    check_totals(xml, lines)
    validate(xml)
    return xml


def validate(xml: bytes) -> None:
    """Raises sepaxml's ValidationError when `xml` does not follow the pain.008.001.02 XSD."""
    from sepaxml.validation import try_valid_xml

    try_valid_xml(xml, SCHEMA)


def check_totals(xml: bytes, lines: list[Line]) -> None:
    """The file's group header and blocks carry the lines' count and sum, to the cent."""
    import xml.etree.ElementTree as ET

    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{SCHEMA}"}
    root = ET.fromstring(xml)  # noqa: S314 — the file Parvis has just written
    header = root.find("p:CstmrDrctDbtInitn/p:GrpHdr", ns)
    total = sum((line.amount for line in lines), Decimal("0.00"))
    if Decimal(header.find("p:CtrlSum", ns).text) != total:
        raise ValueError("control sum")
    if int(header.find("p:NbOfTxs", ns).text) != len(lines):
        raise ValueError("count")
    amounts = [Decimal(node.text) for node in root.iter(f"{{{ns['p']}}}InstdAmt")]
    if sum(amounts, Decimal("0.00")) != total or len(amounts) != len(lines):
        raise ValueError("transactions")
