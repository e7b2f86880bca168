"""A family's CAF/MSA quotient fetched from API Particulier with its consent (issue 20 §2).

`fetch_quotient` asks API Particulier (parvis.families.api_particulier, outside any transaction:
the family never holds a lock while the CAF answers), then records the answer through
`services.record_quotient` like any other QF: a new row of the history, source
`QfSource.API_PARTICULIER`, valid from the first day of the month of the fetch (billing prices a
month with the QF of its first day, and the month is not invoiced yet) to the end of the school
year, its details (allocataire, month, composition, fetched_at) kept with it. Each fetch, found
or not, leaves an audit row (« quotient.api_particulier ») without the identity typed. A failure
raises ApiParticulierError for the page to say so in French; the tax-notice path stays open."""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from parvis.accounts.services import audit
from parvis.communes.models import ApiParticulierConfig, Commune
from parvis.families import api_particulier
from parvis.families.api_particulier import ApiParticulierError, Identity, QfAnswer
from parvis.families.documents import school_year_of
from parvis.families.models import Famille, QfSource, QuotientFamilial
from parvis.families.services import record_quotient

User = get_user_model()

ACTION = "quotient.api_particulier"
FOUND = "trouve"
NOT_OFFERED = "non_propose"


class ConsentRequired(ValueError):
    """API Particulier is asked only with the family's explicit consent."""


def commune_config(commune: Commune) -> ApiParticulierConfig | None:
    """The commune's API Particulier access when it offers the fetch (on, with a token)."""
    config = ApiParticulierConfig.objects.filter(commune=commune).first()
    return config if config is not None and config.usable else None


def validity(today: date) -> tuple[date, date]:
    """A fetched QF counts for the month of the fetch (billing reads a month's QF on its first
    day; the invoices of the months before are left as they were) to the end of the school
    year."""
    return today.replace(day=1), date(school_year_of(today) + 1, 8, 31)


def _details(answer: QfAnswer, *, fetched_at) -> dict:
    return {
        "allocataire": answer.allocataires[0].name if answer.allocataires else "",
        "regime": answer.regime,
        "month": answer.month_iso,
        "composition": {
            "allocataires": [vars(person) for person in answer.allocataires],
            "enfants": [vars(person) for person in answer.children],
        },
        "fetched_at": fetched_at.isoformat(),
        "consent": True,
    }


def fetch_quotient(
    *, famille: Famille, actor: User, identity: Identity, consent: bool
) -> QuotientFamilial:
    """The family's quotient from API Particulier, recorded as its current QF. Raises
    ConsentRequired without consent, ApiParticulierError when the commune does not offer it or
    API Particulier refuses or fails (audited, nothing recorded)."""
    if not consent:
        raise ConsentRequired
    commune = famille.commune
    config = commune_config(commune)
    if config is None:
        raise ApiParticulierError(NOT_OFFERED)
    try:
        answer = api_particulier.fetch_quotient(
            token=config.token, identity=identity, recipient=config.recipient
        )
    except ApiParticulierError as error:
        audit(
            actor=actor,
            action="quotient.api_particulier",
            commune=commune,
            target=famille,
            famille_id=famille.pk,
            changes={"resultat": [None, error.kind], "statut_http": [None, error.status]},
        )
        raise
    now = timezone.now()
    start, end = validity(timezone.localdate(now))
    with transaction.atomic():
        quotient = record_quotient(
            famille=famille,
            actor=actor,
            source=QfSource.API_PARTICULIER,
            valid_from=start,
            valid_until=end,
            value=answer.value,
            details=_details(answer, fetched_at=now),
        )
        audit(
            actor=actor,
            action="quotient.api_particulier",
            commune=commune,
            target=quotient,
            famille_id=famille.pk,
            changes={"resultat": [None, FOUND], "month": [None, answer.month_iso]},
        )
    return quotient
