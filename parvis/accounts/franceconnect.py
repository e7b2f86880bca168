"""FranceConnect's OpenID Connect client, one per commune, through authlib (its Django client and
joserfc): the authorisation-code flow as FranceConnect specifies it.

- The request carries `state` and `nonce` (kept in the session by authlib), `acr_values`
  « eidas1 » and FranceConnect's scopes.
- The callback checks the `state` (authlib), trades the code for the tokens, and has authlib check
  the ID token: its signature against the provider's JWKS, `iss`, `aud`, `exp`, `iat`, `nonce`
  and `acr` (claims options given here).
- The identity is read from userinfo, which FranceConnect v2 answers as a signed JWT: verified
  with the same JWKS (joserfc), its `iss`, `aud` and `sub` checked against the ID token.
- Logout at FranceConnect carries `id_token_hint`, `state` and `post_logout_redirect_uri`; the
  state is checked on the way back.

FranceConnect's access token lives 60 s: authlib's default leeway (60 s) would take it for expired
before the userinfo call, so the client is built with a small one (LEEWAY).

Every failure is a FranceConnectError with a `kind` the views turn into a French page."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.django_client import DjangoIntegration, DjangoOAuth2App
from django.conf import settings
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from parvis.accounts.models import FranceConnectConfig, FranceConnectPlatform
from parvis.communes.prepared import Prepared

ISSUERS = {
    FranceConnectPlatform.PRODUCTION: "https://oidc.franceconnect.gouv.fr/api/v2",
    FranceConnectPlatform.INTEGRATION: "https://fcp-low.sbx.dev-franceconnect.fr/api/v2",
}
SCOPES = (
    "openid given_name family_name birthdate gender birthplace birthcountry email "
    "preferred_username"
)
ACR = "eidas1"
# The eIDAS levels accepted back: the one asked for, or a higher one.
ACCEPTED_ACR = ["eidas1", "eidas2", "eidas3"]
LEEWAY = 5  # seconds, for the 60-second access token and the ID token's times
TIMEOUT = 10  # seconds for each call to the provider


class FranceConnectError(Exception):
    """What went wrong, as a `kind` the error page explains."""

    CANCELLED = "cancelled"  # the person pressed « Annuler » at FranceConnect
    STATE = "state"  # the answer does not belong to this browser's request
    CODE = "code"  # the code was refused (expired, already used)
    TOKEN = "token"  # noqa: S105 — the ID token or userinfo failed a check (signature, iss, aud, exp, acr…)
    UNAVAILABLE = "unavailable"  # the provider did not answer, or answered an error
    DISABLED = "disabled"  # the commune has no FranceConnect (any more)

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass
class Identity:
    """The certified identity, as userinfo gave it, with the ID token (for the logout)."""

    sub: str
    given_name: str
    family_name: str
    birthdate: datetime.date | None
    gender: str = ""
    birthplace: str = ""
    birthcountry: str = ""
    email: str = ""
    preferred_username: str = ""
    id_token: str = ""

    def as_session(self) -> dict:
        data = dict(self.__dict__)
        data["birthdate"] = self.birthdate.isoformat() if self.birthdate else ""
        return data

    @classmethod
    def from_session(cls, data: dict) -> Identity:
        values = dict(data)
        values["birthdate"] = parse_birthdate(values.get("birthdate", ""))
        return cls(**values)


def parse_birthdate(value) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(str(value or ""))
    except ValueError:
        return None  # FranceConnect may give a partial date (« 1962-00-00 ») for some births


def demo_allowed() -> bool:
    return bool(settings.PARVIS_FRANCECONNECT_DEMO)


def issuer_of(config: FranceConnectConfig) -> str:
    if config.platform == FranceConnectPlatform.DEMO:
        return settings.PARVIS_FRANCECONNECT_DEMO_URL.rstrip("/")
    return ISSUERS[config.platform]


# Read on every login and sign-up page (the button): its SQL written once (issue 23). One row
# a commune at most (a one-to-one).
_ENABLED_CONFIG = Prepared(
    lambda commune_id: FranceConnectConfig.objects.filter(commune_id=commune_id, enabled=True)
)


def config_for(commune) -> FranceConnectConfig | None:
    """The commune's FranceConnect client when it is on (the demo provider only where allowed)."""
    config = _ENABLED_CONFIG.first(commune.pk)
    if config is None or not config.client_id or not config.client_secret:
        return None
    if config.platform == FranceConnectPlatform.DEMO and not demo_allowed():
        return None
    return config


def client(config: FranceConnectConfig) -> DjangoOAuth2App:
    name = f"franceconnect-{config.commune_id}"
    return DjangoOAuth2App(
        DjangoIntegration(name),
        name=name,
        client_id=config.client_id,
        client_secret=config.client_secret,
        server_metadata_url=f"{issuer_of(config)}/.well-known/openid-configuration",
        client_kwargs={
            "scope": SCOPES,
            "token_endpoint_auth_method": "client_secret_post",
            "leeway": LEEWAY,
            "default_timeout": TIMEOUT,
        },
    )


def _unavailable(error: Exception) -> FranceConnectError:
    return FranceConnectError(FranceConnectError.UNAVAILABLE, repr(error))


def authorize_url(request, config: FranceConnectConfig, redirect_uri: str) -> str:
    """The provider's authorisation address; its state and nonce wait in the session."""
    app = client(config)
    try:
        answer = app.create_authorization_url(redirect_uri, acr_values=ACR)
    except (requests.RequestException, ValueError, KeyError, RuntimeError) as error:
        raise _unavailable(error) from error
    app.save_authorize_data(request, redirect_uri=redirect_uri, **answer)
    return answer["url"]


def claims_options(config: FranceConnectConfig, issuer: str) -> dict:
    """What authlib checks in the ID token besides its signature, nonce and times."""
    return {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": config.client_id},
        "acr": {"essential": True, "values": list(ACCEPTED_ACR)},
    }


def complete(request, config: FranceConnectConfig) -> Identity:
    """The callback: state, code, ID token, userinfo. Raises FranceConnectError."""
    app = client(config)
    error = request.GET.get("error")
    if error == "access_denied":
        # The request is over: its state is spent.
        app.framework.clear_state_data(request.session, request.GET.get("state"))
        raise FranceConnectError(FranceConnectError.CANCELLED, error)
    try:
        metadata = app.load_server_metadata()
        issuer = issuer_of(config)  # never the discovery's word for it
        token = app.authorize_access_token(
            request, claims_options=claims_options(config, issuer), leeway=LEEWAY
        )
    except MismatchingStateError as refusal:
        raise FranceConnectError(FranceConnectError.STATE, str(refusal)) from refusal
    except OAuthError as refusal:
        if refusal.error in {"invalid_grant", "access_denied"}:
            kind = (
                FranceConnectError.CODE
                if refusal.error == "invalid_grant"
                else FranceConnectError.CANCELLED
            )
            raise FranceConnectError(kind, str(refusal)) from refusal
        raise _unavailable(refusal) from refusal
    except JoseError as refusal:
        raise FranceConnectError(FranceConnectError.TOKEN, repr(refusal)) from refusal
    except (requests.RequestException, ValueError, KeyError, RuntimeError) as failure:
        raise _unavailable(failure) from failure
    if "userinfo" not in token:
        # No ID token (or no nonce kept): nothing certifies who this is.
        raise FranceConnectError(FranceConnectError.TOKEN, "no id_token")
    id_claims = token["userinfo"]
    claims = _userinfo(app, config, token, issuer, metadata)
    if claims.get("sub") != id_claims["sub"]:
        raise FranceConnectError(FranceConnectError.TOKEN, "userinfo sub differs")
    if not claims.get("given_name") or not claims.get("family_name"):
        raise FranceConnectError(FranceConnectError.TOKEN, "identity claims missing")
    return Identity(
        sub=str(claims["sub"]),
        given_name=str(claims["given_name"])[:200],
        family_name=str(claims["family_name"])[:200],
        birthdate=parse_birthdate(claims.get("birthdate")),
        gender=str(claims.get("gender") or "")[:10],
        birthplace=str(claims.get("birthplace") or "")[:10],
        birthcountry=str(claims.get("birthcountry") or "")[:10],
        email=str(claims.get("email") or "")[:254],
        preferred_username=str(claims.get("preferred_username") or "")[:200],
        id_token=token["id_token"],
    )


def _userinfo(app, config, token, issuer: str, metadata: dict) -> dict:
    """FranceConnect v2's userinfo: a JWT signed like the ID token (authlib's `userinfo()` reads
    JSON only), verified against the JWKS by joserfc, then its iss and aud checked."""
    try:
        response = app.get(metadata["userinfo_endpoint"], token=token)
        response.raise_for_status()
    except (requests.RequestException, KeyError, OAuthError) as failure:
        raise _unavailable(failure) from failure
    if not response.headers.get("Content-Type", "").startswith("application/jwt"):
        raise FranceConnectError(FranceConnectError.TOKEN, "userinfo is not a signed JWT")
    algorithms = metadata.get("userinfo_signing_alg_values_supported") or ["RS256", "ES256"]
    try:
        keys = KeySet.import_key_set(app.fetch_jwk_set())
        decoded = jwt.decode(
            response.text.strip(),
            keys,
            registry=JWSRegistry(algorithms=algorithms, strict_check_header=False),
        )
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": config.client_id},
            sub={"essential": True},
        ).validate(decoded.claims)
    except JoseError as refusal:
        raise FranceConnectError(FranceConnectError.TOKEN, repr(refusal)) from refusal
    except requests.RequestException as failure:
        raise _unavailable(failure) from failure
    return decoded.claims


def logout_url(request, config: FranceConnectConfig, *, id_token: str, back_to: str) -> str:
    """FranceConnect's end-session address (id_token_hint, state, post_logout_redirect_uri);
    the state waits in the (new) session for `check_logout`."""
    app = client(config)
    try:
        answer = app.create_logout_url(post_logout_redirect_uri=back_to, id_token_hint=id_token)
    except (requests.RequestException, ValueError, KeyError, RuntimeError) as error:
        raise _unavailable(error) from error
    app.framework.set_state_data(
        request.session, answer["state"], {"post_logout_redirect_uri": back_to}
    )
    return answer["url"]


def check_logout(request, config: FranceConnectConfig) -> None:
    """The way back from FranceConnect's logout: its state must be ours."""
    try:
        client(config).validate_logout_response(request)
    except OAuthError as refusal:
        raise FranceConnectError(FranceConnectError.STATE, str(refusal)) from refusal
