"""A local OpenID Connect provider that behaves like FranceConnect's integration platform, for the
tests and `make run` (never in production: a commune may only point at it with
PARVIS_FRANCECONNECT_DEMO, like the payment simulator).

A real HTTP server (the standard library's WSGI server, in a thread or its own process) with
FranceConnect v2's endpoints under /api/v2: the discovery document, « authorize » (a page listing
the demo identities, with « Annuler »), « token » (an RS256 ID token signed with joserfc: iss, aud,
exp, iat, nonce, acr « eidas1 »), « userinfo » (a signed JWT of FranceConnect's claims), the JWKS
and « session/end ». Codes are single-use and live 30 seconds, access tokens 60 seconds, as at
FranceConnect.

Its errors are switches, chosen on the authorize page (« Réponse du fournisseur ») or set for every
authorisation by a test (`server.mode = "bad_signature"`): see MODES.

Only the standard library and joserfc: nothing of Django, so that it runs on its own
(`python -m parvis.accounts.franceconnect_provider --port 8765`, started by `make run`)."""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

API = "/api/v2"
CODE_LIFETIME = 30  # seconds, as FranceConnect
ACCESS_TOKEN_LIFETIME = 60
ID_TOKEN_LIFETIME = 60
DEMO_CLIENTS = {"parvis-demo": "parvis-demo-secret"}
SCOPES = [
    "openid",
    "given_name",
    "family_name",
    "birthdate",
    "gender",
    "birthplace",
    "birthcountry",
    "email",
    "preferred_username",
]

# The identities of FranceConnect's integration platform (its public demo accounts).
IDENTITIES = [
    {
        "sub": "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1",
        "given_name": "Angela Claire Louise",
        "family_name": "DUBOIS",
        "birthdate": "1962-08-24",
        "gender": "female",
        "birthplace": "75107",
        "birthcountry": "99100",
        "email": "wossewodda-3728@yopmail.com",
        "preferred_username": "",
    },
    {
        "sub": "4d327dd1e427daf4d50296ab71d11f3fc6de7ea2a8a4d4f2c6b0aab2a4b7c2e1v1",
        "given_name": "Jean-Pierre",
        "family_name": "LEROY",
        "birthdate": "1984-03-12",
        "gender": "male",
        "birthplace": "78124",
        "birthcountry": "99100",
        "email": "jean-pierre.leroy@example.fr",
        "preferred_username": "",
    },
    {
        "sub": "9f1c5e2a7b3d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2fv1",
        "given_name": "Françoise",
        "family_name": "MARTIN",
        "birthdate": "1979-11-02",
        "gender": "female",
        "birthplace": "",
        "birthcountry": "99217",
        "email": "francoise.durand@example.fr",
        "preferred_username": "DURAND",
    },
]

# What the provider answers; each mode is one of the errors a client must catch.
MODES = {
    "normal": "Réponse normale",
    "wrong_state": "Mauvais « state » dans la redirection",
    "expired_code": "Code expiré (le jeton est refusé)",
    "bad_signature": "ID token signé avec une autre clé",
    "wrong_nonce": "ID token avec un autre « nonce »",
    "wrong_issuer": "ID token d'un autre émetteur (iss)",
    "wrong_audience": "ID token destiné à un autre client (aud)",
    "expired_id_token": "ID token expiré (exp)",
    "wrong_acr": "ID token d'un niveau eIDAS non demandé (acr)",
    "userinfo_bad_signature": "Userinfo signé avec une autre clé",
    "userinfo_other_sub": "Userinfo d'une autre personne (sub)",
    "userinfo_wrong_audience": "Userinfo destiné à un autre client (aud)",
    "token_error": "Erreur du serveur au jeton (500)",
}


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str
    acr: str
    scopes: list[str]
    identity: dict
    mode: str
    expires: float
    used: bool = False


@dataclass
class Provider:
    """The provider's state: its keys, clients, codes and tokens."""

    base_url: str = ""
    clients: dict = field(default_factory=lambda: dict(DEMO_CLIENTS))
    mode: str = "normal"  # for every authorisation, unless chosen on the page
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "fc"}))
    # Same kid, other key: a signature the JWKS does not verify.
    rogue_key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "fc"})
    )
    grants: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    log: list = field(default_factory=list)  # (endpoint, params): what the clients sent

    @property
    def issuer(self) -> str:
        return self.base_url + API

    def discovery(self) -> dict:
        issuer = self.issuer
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "end_session_endpoint": f"{issuer}/session/end",
            "jwks_uri": f"{issuer}/jwks",
            "scopes_supported": SCOPES,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "acr_values_supported": ["eidas1"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "userinfo_signing_alg_values_supported": ["RS256", "ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["sub", *SCOPES[1:], "acr", "amr"],
        }

    def jwks(self) -> dict:
        return KeySet([self.key]).as_dict(private=False)

    def sign(self, claims: dict, *, rogue: bool = False) -> str:
        key = self.rogue_key if rogue else self.key
        return jwt.encode({"alg": "RS256", "kid": "fc"}, claims, key)


# --- WSGI --------------------------------------------------------------------------------------


class Response:
    def __init__(self, body=b"", status="200 OK", content_type="text/html; charset=utf-8"):
        self.body = body.encode() if isinstance(body, str) else body
        self.status = status
        self.headers = [("Content-Type", content_type), ("Cache-Control", "no-store")]


def json_response(data: dict, status: str = "200 OK") -> Response:
    return Response(json.dumps(data), status, "application/json")


def redirect(url: str) -> Response:
    response = Response(b"", "302 Found")
    response.headers.append(("Location", url))
    return response


def with_query(url: str, params: dict) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def page(title: str, body: str, status: str = "200 OK") -> Response:
    return Response(
        f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{html.escape(title)} — FranceConnect (démonstration)</title>
<style>
body {{ font-family: sans-serif; max-width: 40rem; margin: 1rem auto; padding: 0 1rem;
  color: #161616; }}
header {{ border-bottom: 4px solid #000091; margin-bottom: 1rem; }}
.brand {{ color: #000091; font-weight: bold; font-size: 1.4rem; }}
fieldset {{ border: 1px solid #666; margin: 0 0 1rem; padding: .5rem 1rem; }}
label {{ display: block; padding: .35rem 0; }}
button {{ font-size: 1rem; padding: .6rem 1.2rem; margin: 0 .5rem .5rem 0; cursor: pointer; }}
.primary {{ background: #000091; color: #fff; border: 0; }}
.secondary {{ background: #fff; color: #000091; border: 1px solid #000091; }}
</style></head>
<body><header><p class="brand">FranceConnect</p>
<p>Fournisseur d'identité de démonstration de Parvis — aucune donnée réelle.</p></header>
<main>{body}</main></body></html>""",
        status,
    )


def error_page(message: str) -> Response:
    return page("Erreur", f"<h1>Erreur</h1><p>{html.escape(message)}</p>", "400 Bad Request")


class App:
    """The WSGI application of one Provider."""

    def __init__(self, provider: Provider):
        self.provider = provider

    def __call__(self, environ, start_response):
        try:
            response = self.route(environ)
        except Exception as error:  # a demo server answers, never dies
            response = json_response({"error": "server_error", "error_description": str(error)})
            response.status = "500 Internal Server Error"
        start_response(response.status, response.headers)
        return [response.body]

    def route(self, environ) -> Response:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        form = {}
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            form = {
                k: v[-1] for k, v in parse_qs(environ["wsgi.input"].read(length).decode()).items()
            }
        routes = {
            ("GET", "/.well-known/openid-configuration"): lambda: json_response(
                self.provider.discovery()
            ),
            ("GET", "/jwks"): lambda: json_response(self.provider.jwks()),
            ("GET", "/authorize"): lambda: self.authorize_page(query),
            ("POST", "/authorize"): lambda: self.authorize_answer(form),
            ("POST", "/token"): lambda: self.token(environ, form),
            ("GET", "/userinfo"): lambda: self.userinfo(environ),
            ("GET", "/session/end"): lambda: self.end_session(query),
        }
        if not path.startswith(API):
            return Response("Not found", "404 Not Found", "text/plain")
        handler = routes.get((method, path[len(API) :]))
        if handler is None:
            return Response("Not found", "404 Not Found", "text/plain")
        self.provider.log.append((path[len(API) :], {**query, **form}))
        return handler()

    # --- authorize ---------------------------------------------------------------------------

    def check_authorize(self, params: dict) -> str | None:
        """FranceConnect's refusals of a malformed authorisation request (an error page, no
        redirection)."""
        if params.get("client_id") not in self.provider.clients:
            return "Client inconnu (client_id)."
        if params.get("response_type") != "code":
            return "response_type doit valoir « code »."
        if "openid" not in params.get("scope", "").split():
            return "Le scope « openid » est obligatoire."
        for name in ("redirect_uri", "state", "nonce", "acr_values"):
            if not params.get(name):
                return f"Le paramètre « {name} » est obligatoire."
        return None

    def authorize_page(self, query: dict) -> Response:
        refusal = self.check_authorize(query)
        if refusal:
            return error_page(refusal)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
            for name, value in query.items()
        )
        identities = "".join(
            f'<label><input type="radio" name="identity" value="{i}"'
            f"{' checked' if i == 0 else ''}> "
            f"{html.escape(p['given_name'])} {html.escape(p['family_name'])} "
            f"(née·né le {p['birthdate']})</label>"
            for i, p in enumerate(IDENTITIES)
        )
        modes = "".join(
            f'<option value="{name}"{" selected" if name == self.provider.mode else ""}>'
            f"{html.escape(label)}</option>"
            for name, label in MODES.items()
        )
        return page(
            "Choisir une identité",
            f"""<h1>Choisissez une identité de démonstration</h1>
<form method="post" action="{API}/authorize">{hidden}
<fieldset><legend>Identité</legend>{identities}</fieldset>
<p><label for="mode">Réponse du fournisseur</label>
<select id="mode" name="mode">{modes}</select></p>
<button class="primary" type="submit" name="action" value="continuer">Continuer</button>
<button class="secondary" type="submit" name="action" value="annuler">Annuler</button>
</form>""",
        )

    def authorize_answer(self, form: dict) -> Response:
        refusal = self.check_authorize(form)
        if refusal:
            return error_page(refusal)
        redirect_uri, state = form["redirect_uri"], form["state"]
        if form.get("action") == "annuler":
            return redirect(
                with_query(
                    redirect_uri,
                    {
                        "error": "access_denied",
                        "error_description": "User auth aborted",
                        "state": state,
                    },
                )
            )
        mode = form.get("mode") if form.get("mode") in MODES else self.provider.mode
        try:
            identity = IDENTITIES[int(form.get("identity", "0"))]
        except (ValueError, IndexError):
            return error_page("Identité inconnue.")
        code = secrets.token_urlsafe(32)
        with self.provider.lock:
            self.provider.grants[code] = Grant(
                client_id=form["client_id"],
                redirect_uri=redirect_uri,
                nonce=form["nonce"],
                acr=form["acr_values"].split()[0],
                scopes=form["scope"].split(),
                identity=identity,
                mode=mode,
                expires=time.time() + CODE_LIFETIME,
            )
        if mode == "wrong_state":
            state = state + "x"
        return redirect(with_query(redirect_uri, {"code": code, "state": state}))

    # --- token -------------------------------------------------------------------------------

    def client_credentials(self, environ, form: dict) -> tuple[str, str]:
        header = environ.get("HTTP_AUTHORIZATION", "")
        if header.startswith("Basic "):
            decoded = base64.b64decode(header[6:]).decode()
            client_id, _sep, secret = decoded.partition(":")
            return unquote(client_id), unquote(secret)
        return form.get("client_id", ""), form.get("client_secret", "")

    def token(self, environ, form: dict) -> Response:
        client_id, secret = self.client_credentials(environ, form)
        if self.provider.clients.get(client_id) != secret or not secret:
            return json_response({"error": "invalid_client"}, "401 Unauthorized")
        if form.get("grant_type") != "authorization_code":
            return json_response({"error": "unsupported_grant_type"}, "400 Bad Request")
        with self.provider.lock:
            grant = self.provider.grants.get(form.get("code", ""))
            valid = (
                grant is not None
                and not grant.used
                and grant.client_id == client_id
                and grant.redirect_uri == form.get("redirect_uri")
            )
            if valid:
                grant.used = True
        if not valid:
            return json_response({"error": "invalid_grant"}, "400 Bad Request")
        if grant.mode == "expired_code" or grant.expires < time.time():
            return json_response(
                {"error": "invalid_grant", "error_description": "Code expired"},
                "400 Bad Request",
            )
        if grant.mode == "token_error":
            return json_response({"error": "server_error"}, "500 Internal Server Error")
        access_token = secrets.token_urlsafe(32)
        now = int(time.time())
        claims = {
            "iss": self.provider.issuer,
            "sub": grant.identity["sub"],
            "aud": client_id,
            "exp": now + ID_TOKEN_LIFETIME,
            "iat": now,
            "nonce": grant.nonce,
            "acr": grant.acr,
            "amr": ["pwd"],
            "at_hash": at_hash(access_token),
        }
        overrides = {
            "wrong_nonce": {"nonce": "autre-nonce"},
            "wrong_issuer": {"iss": "https://autre-fournisseur.example/api/v2"},
            # Its azp names this client, so that only the audience check can refuse it.
            "wrong_audience": {"aud": "un-autre-client", "azp": client_id},
            "expired_id_token": {"exp": now - 600, "iat": now - 900},
            "wrong_acr": {"acr": "eidas0"},
        }
        claims.update(overrides.get(grant.mode, {}))
        id_token = self.provider.sign(claims, rogue=grant.mode == "bad_signature")
        with self.provider.lock:
            self.provider.tokens[access_token] = (grant, time.time() + ACCESS_TOKEN_LIFETIME)
        return json_response(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": ACCESS_TOKEN_LIFETIME,
                "id_token": id_token,
                "scope": " ".join(grant.scopes),
            }
        )

    # --- userinfo ------------------------------------------------------------------------------

    def userinfo(self, environ) -> Response:
        header = environ.get("HTTP_AUTHORIZATION", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        with self.provider.lock:
            found = self.provider.tokens.get(token)
        if found is None or found[1] < time.time():
            response = json_response({"error": "invalid_token"}, "401 Unauthorized")
            response.headers.append(("WWW-Authenticate", 'Bearer error="invalid_token"'))
            return response
        grant, _expires = found
        claims = {
            "sub": grant.identity["sub"],
            "iss": self.provider.issuer,
            "aud": grant.client_id,
        }
        for scope in grant.scopes:
            if scope in grant.identity and scope != "sub":
                claims[scope] = grant.identity[scope]
        if grant.mode == "userinfo_other_sub":
            claims["sub"] = IDENTITIES[1]["sub"]
        if grant.mode == "userinfo_wrong_audience":
            claims["aud"] = "un-autre-client"
        signed = self.provider.sign(claims, rogue=grant.mode == "userinfo_bad_signature")
        return Response(signed, "200 OK", "application/jwt")

    # --- logout --------------------------------------------------------------------------------

    def end_session(self, query: dict) -> Response:
        hint = query.get("id_token_hint", "")
        try:
            token = jwt.decode(hint, self.provider.key)
        except Exception:  # any bad hint is refused
            return error_page("id_token_hint absent ou invalide.")
        if token.claims.get("aud") not in self.provider.clients:
            return error_page("id_token_hint d'un client inconnu.")
        target = query.get("post_logout_redirect_uri")
        if not target or not query.get("state"):
            return error_page("post_logout_redirect_uri et state sont obligatoires.")
        return redirect(with_query(target, {"state": query["state"]}))


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


# --- Serving -----------------------------------------------------------------------------------


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class ThreadingWSGIServer(WSGIServer):
    daemon_threads = True

    def process_request(self, request, client_address):
        thread = threading.Thread(target=self._handle, args=(request, client_address), daemon=True)
        thread.start()

    def _handle(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)


class RunningProvider:
    """A provider served on 127.0.0.1 in a background thread (`stop()` ends it)."""

    def __init__(self, port: int = 0, *, quiet: bool = True):
        self.provider = Provider()
        self.server = make_server(
            "127.0.0.1",
            port,
            App(self.provider),
            server_class=ThreadingWSGIServer,
            handler_class=QuietHandler if quiet else WSGIRequestHandler,
        )
        self.port = self.server.server_address[1]
        self.provider.base_url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The issuer: what a client's configuration points at."""
        return self.provider.issuer

    def start(self) -> RunningProvider:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main(argv=None) -> None:
    """`python -m parvis.accounts.franceconnect_provider --port 8765` (make run starts it)."""
    parser = argparse.ArgumentParser(description="Fournisseur FranceConnect de démonstration")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    if os.environ.get("PARVIS_DEVELOPMENT", "").strip().lower() not in {"1", "true", "yes", "on"}:
        raise SystemExit(
            "Le fournisseur FranceConnect de démonstration ne démarre qu'en développement "
            "(PARVIS_DEVELOPMENT=1)."
        )
    running = RunningProvider(args.port).start()
    client_id, secret = next(iter(DEMO_CLIENTS.items()))
    print(
        f"FranceConnect de démonstration : {running.url} "
        f"(client_id {client_id}, client_secret {secret})",
        flush=True,
    )
    try:
        running.thread.join()
    except KeyboardInterrupt:
        running.stop()


if __name__ == "__main__":
    main()
