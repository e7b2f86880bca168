"""The client of API Particulier's family quotient (issue 20 §2): « Quotient familial CAF & MSA »,
version 2, as API Particulier documents it (https://particulier.api.gouv.fr/developpeurs/openapi):

    GET {base}/api/v2/composition-familiale-v2
    X-Api-Key: <the commune's token>
    ?nomNaissance=…&nomUsage=…&prenoms[]=…&anneeDateDeNaissance=…&moisDateDeNaissance=…
     &jourDateDeNaissance=…&sexe=F|M&codeInseeLieuDeNaissance=…&codePaysLieuDeNaissance=99100
     [&recipient=<SIRET>]

It answers the allocataires, the children, the address, « quotientFamilial » (an integer, in
euros), « annee » and « mois » (the month the QF applies to) and « regime » (CNAF or MSA); an error
is `{"error": …, "reason": …, "message": …}` with 400 (bad parameters), 401 (token unknown,
expired or inactive), 404 (no allocataire), 500, 503 (the CAF/MSA did not answer). The first
version, by allocataire number and postal code (/api/v2/composition-familiale), is gone since
31 October 2025 (410): the CAF and the MSA now find the allocataire by civil identity, or by the
FranceConnect identity.

The base URL is a setting (PARVIS_API_PARTICULIER_URL); tests and `make run` point it at the local
server of `api_particulier_local`, which answers as the real one does, through this same code.
Nothing here writes: services_api_particulier records the result."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

PATH = "/api/v2/composition-familiale-v2"
FRANCE = "99100"  # the COG code of France as a country of birth


@dataclass(frozen=True)
class Identity:
    """The civil identity API Particulier finds an allocataire by (names as on the birth
    certificate; the COG code of the commune of birth in France, of the country otherwise)."""

    birth_name: str
    first_names: tuple[str, ...]
    sex: str  # "F" or "M"
    birth_date: date
    birth_country: str = FRANCE
    birth_commune: str = ""  # COG code, required when born in France
    usage_name: str = ""

    def params(self) -> list[tuple[str, str]]:
        params = [("nomNaissance", self.birth_name)]
        if self.usage_name:
            params.append(("nomUsage", self.usage_name))
        params += [("prenoms[]", name) for name in self.first_names if name]
        params += [
            ("anneeDateDeNaissance", str(self.birth_date.year)),
            ("moisDateDeNaissance", str(self.birth_date.month)),
            ("jourDateDeNaissance", str(self.birth_date.day)),
            ("sexe", self.sex),
            ("codePaysLieuDeNaissance", self.birth_country),
        ]
        if self.birth_commune:
            params.append(("codeInseeLieuDeNaissance", self.birth_commune))
        return params


@dataclass(frozen=True)
class Person:
    name: str  # « prénoms NOM »
    birth_date: str  # ISO, or "" when the CAF does not know it


@dataclass(frozen=True)
class QfAnswer:
    """What API Particulier answered: the QF of a month and the household it counts."""

    value: Decimal
    year: int
    month: int
    regime: str  # « CNAF » or « MSA »
    allocataires: list[Person] = field(default_factory=list)
    children: list[Person] = field(default_factory=list)

    @property
    def month_iso(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


class ApiParticulierError(Exception):
    """A refusal or a failure; `kind` says which, for the family's French message."""

    NOT_FOUND = "introuvable"  # 404: no allocataire with this identity
    UNAVAILABLE = "indisponible"  # 5xx, timeout, connection refused: try again later
    REFUSED = "acces_refuse"  # 401/403: the commune's token is unknown, expired or inactive
    BAD_REQUEST = "parametres"  # 400/422: the identity is incomplete
    INVALID = "reponse_invalide"  # 200 without a readable QF

    def __init__(self, kind: str, *, status: int | None = None, reason: str = ""):
        super().__init__(f"{kind} ({status}): {reason}")
        self.kind = kind
        self.status = status
        self.reason = reason


def _kind_of(status: int) -> str:
    if status == 404:
        return ApiParticulierError.NOT_FOUND
    if status in (401, 403):
        return ApiParticulierError.REFUSED
    if status in (400, 422):
        return ApiParticulierError.BAD_REQUEST
    return ApiParticulierError.UNAVAILABLE


def _person(row: dict) -> Person:
    names = " ".join(
        part
        for part in (str(row.get("prenoms") or "").strip(), str(row.get("nomNaissance") or ""))
        if part
    )
    year, month, day = (
        str(row.get(key) or "").strip()
        for key in ("anneeDateDeNaissance", "moisDateDeNaissance", "jourDateDeNaissance")
    )
    birth = ""
    if year.isdigit() and month.isdigit() and day.isdigit() and int(month) and int(day):
        birth = f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    return Person(name=names.strip(), birth_date=birth)


def parse_answer(payload) -> QfAnswer:
    """The QF and the household of a 200 answer; ApiParticulierError(INVALID) otherwise."""
    try:
        value = Decimal(str(payload["quotientFamilial"]))
        year, month = int(payload["annee"]), int(payload["mois"])
        if not value.is_finite() or value < 0 or not 1 <= month <= 12 or year < 2000:
            raise ValueError(payload)
        return QfAnswer(
            value=value,
            year=year,
            month=month,
            regime=str(payload.get("regime") or ""),
            allocataires=[_person(row) for row in payload.get("allocataires") or []],
            children=[_person(row) for row in payload.get("enfants") or []],
        )
    except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as error:
        raise ApiParticulierError(ApiParticulierError.INVALID, status=200) from error


def fetch_quotient(
    *,
    token: str,
    identity: Identity,
    recipient: str = "",
    base_url: str | None = None,
    timeout: float | None = None,
) -> QfAnswer:
    """Ask API Particulier for the CAF/MSA quotient of `identity`, with the commune's token.
    Never waits longer than PARVIS_API_PARTICULIER_TIMEOUT seconds (connection and reading)."""
    base_url = (base_url or settings.PARVIS_API_PARTICULIER_URL).rstrip("/")
    timeout = timeout if timeout is not None else settings.PARVIS_API_PARTICULIER_TIMEOUT
    params = identity.params()
    if recipient:
        params.append(("recipient", recipient))
    try:
        response = requests.get(
            base_url + PATH,
            params=params,
            headers={"X-Api-Key": token, "Accept": "application/json"},
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        logger.warning("API Particulier injoignable : %s", type(error).__name__)
        raise ApiParticulierError(ApiParticulierError.UNAVAILABLE, reason=str(error)) from error
    if response.status_code != 200:
        try:
            reason = str(response.json().get("reason") or "")[:300]
        except (ValueError, AttributeError):
            reason = response.text[:300]
        kind = _kind_of(response.status_code)
        log = logger.error if kind == ApiParticulierError.REFUSED else logger.warning
        log("API Particulier a répondu %s : %s", response.status_code, reason)
        raise ApiParticulierError(kind, status=response.status_code, reason=reason)
    try:
        payload = response.json()
    except ValueError as error:
        raise ApiParticulierError(ApiParticulierError.INVALID, status=200) from error
    return parse_answer(payload)


# --- The FranceConnect identity (issue 20 §1) -----------------------------------------------------


def certified_identity(user) -> Identity | None:
    """The identity FranceConnect certified for the account (accounts' FranceConnectIdentity,
    `user.franceconnect`: FranceConnect's pivot identity is what API Particulier searches by),
    None for an account without one. Read by attribute so that an account of a deployment
    without FranceConnect simply has none."""
    certified = getattr(user, "franceconnect", None)
    if certified is None or not getattr(certified, "birthdate", None):
        return None
    sex = {"female": "F", "male": "M"}.get(str(getattr(certified, "gender", "")).lower())
    if not sex or not certified.family_name or not certified.given_name:
        return None
    country = (getattr(certified, "birthcountry", "") or FRANCE).strip()
    return Identity(
        birth_name=certified.family_name,
        first_names=tuple(certified.given_name.split()),
        sex=sex,
        birth_date=certified.birthdate,
        birth_country=country,
        birth_commune=(getattr(certified, "birthplace", "") or "").strip()
        if country == FRANCE
        else "",
    )


def identity_initial(identity: Identity) -> dict:
    """The form's initial values from an identity (QuotientApiForm's field names)."""
    in_france = identity.birth_country == FRANCE
    return {
        "birth_name": identity.birth_name,
        "usage_name": identity.usage_name,
        "first_names": " ".join(identity.first_names),
        "sex": identity.sex,
        "birth_date": identity.birth_date,
        "born_in_france": "oui" if in_france else "non",
        "birth_commune": identity.birth_commune if in_france else "",
        "birth_country": "" if in_france else identity.birth_country,
    }
