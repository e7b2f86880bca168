"""A local server that answers as API Particulier's « Quotient familial CAF & MSA » v2 does, for
the tests and the demo (never in production: `make run` starts it under PARVIS_DEVELOPMENT only,
and a test fixture starts it on a free port). Parvis reaches it through the same client code as
the real API (parvis.families.api_particulier), its base URL being PARVIS_API_PARTICULIER_URL.

    python -m parvis.families.api_particulier_local --port 8765

It knows a few allocataires (ALLOCATAIRES: the demo's Françoise DURAND among them) and answers:

- 200 with the QF of the current month and the household for a known identity (birth name, first
  first name, sex, year and month of birth);
- 404 « not_found » for anyone else;
- 503 « network_error » for the birth name INDISPONIBLE, or while `unavailable` is set;
- 401 « access_denied » for a token it does not know or one of EXPIRED_TOKENS;
- 400 « bad_request » without `sexe` or `codePaysLieuDeNaissance`;
- 410 on the retired first version (/api/v2/composition-familiale).

Only the standard library: it imports nothing of Django."""

from __future__ import annotations

import argparse
import json
import os
import threading
import unicodedata
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DEMO_TOKEN = "demo-api-particulier-parvis-2026"  # noqa: S105 (a demo value, not a secret)
EXPIRED_TOKENS = frozenset({"jeton-expire"})
PATH_V2 = "/api/v2/composition-familiale-v2"
PATH_V1 = "/api/v2/composition-familiale"
UNAVAILABLE_NAME = "INDISPONIBLE"


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper().strip()


def _person(birth_name, first_names, sex, birth: str | None):
    year, month, day = birth.split("-") if birth else ("", "", "")
    return {
        "nomNaissance": birth_name,
        "nomUsuel": None,
        "prenoms": first_names,
        "anneeDateDeNaissance": year,
        "moisDateDeNaissance": month,
        "jourDateDeNaissance": day,
        "sexe": sex,
    }


# (birth name, first first name, sex, year of birth, month of birth) → the household and its QF.
ALLOCATAIRES = {
    ("DURAND", "FRANCOISE", "F", 1986, 4): {
        "regime": "CNAF",
        "quotientFamilial": 612,
        "allocataires": [
            _person("DURAND", "FRANCOISE", "F", "1986-04-09"),
            _person("DURAND", "MARC", "M", "1984-11-02"),
        ],
        "enfants": [
            _person("DURAND", "HUGO", "M", "2018-06-02"),
            _person("DURAND", "LEA", "F", "2022-03-14"),
        ],
        "adresse": {"codePostalVille": "78955 CARRIERES SOUS POISSY", "pays": "FRANCE"},
    },
    ("BERNARD", "ELODIE", "F", 1990, 3): {
        "regime": "MSA",
        "quotientFamilial": 1954,
        "allocataires": [_person("BERNARD", "ELODIE JUDITH", "F", "1990-03-18")],
        "enfants": [_person("BERNARD", "LEO", "M", None)],
        "adresse": {"codePostalVille": "75002 PARIS", "pays": "FRANCE"},
    },
}


def _error(status: int, error: str, reason: str, message: str | None = None):
    return status, {"error": error, "reason": reason, "message": message or reason}


class LocalApiParticulier:
    """The server's state: who it knows, which tokens it accepts, whether it is « down »."""

    def __init__(self, *, tokens=(DEMO_TOKEN,), allocataires=None):
        self.tokens = set(tokens)
        self.allocataires = dict(ALLOCATAIRES if allocataires is None else allocataires)
        self.unavailable = False
        self.requests: list[dict] = []  # what it was asked (path, headers, params), for tests
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, path: str, token: str, params: dict[str, list[str]]):
        self.requests.append({"path": path, "token": token, "params": params})
        if path == PATH_V1:
            return 410, (
                "L'API Quotient Familial v1 n'est plus disponible depuis le 31/10/2025. "
                "Veuillez utiliser l'API v2."
            )
        if path != PATH_V2:
            return _error(404, "not_found", "Route inconnue")
        if not token or token not in self.tokens or token in EXPIRED_TOKENS:
            return _error(
                401,
                "access_denied",
                "Token not found or inactive",
                "Votre jeton d'API n'a pas été trouvé ou n'est pas actif",
            )

        def one(name):
            return (params.get(name) or [""])[0].strip()

        for required in ("codePaysLieuDeNaissance", "sexe"):
            if not one(required):
                return _error(400, "bad_request", f"Le {required} est manquant")
        name = _fold(one("nomNaissance") or one("nomUsage"))
        if self.unavailable or name == UNAVAILABLE_NAME:
            return _error(
                503,
                "network_error",
                "timeout of 10000 ms exceeded",
                "Une erreur est survenue lors de l'appel au fournisseur de donnée",
            )
        first = _fold((params.get("prenoms[]") or params.get("prenoms") or [""])[0])
        first = first.split(" ")[0] if first else ""
        try:
            key = (
                name,
                first,
                one("sexe").upper(),
                int(one("anneeDateDeNaissance") or 0),
                int(one("moisDateDeNaissance") or 0),
            )
        except ValueError:
            key = None
        household = self.allocataires.get(key)
        if household is None:
            reason = "Dossier allocataire inexistant. Le document ne peut être édité."
            return _error(404, "not_found", reason)
        today = date.today()
        year = int(one("annee") or today.year)
        month = int(one("mois") or today.month)
        return 200, {**household, "annee": year, "mois": month}

    def start(self, host: str = "127.0.0.1", port: int = 0) -> LocalApiParticulier:
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                split = urlsplit(self.path)
                status, body = state.answer(
                    split.path,
                    self.headers.get("X-Api-Key", ""),
                    parse_qs(split.query, keep_blank_values=True),
                )
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                kind = "text/plain" if isinstance(body, str) else "application/json"
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format, *args):
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="API Particulier locale (développement)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    if os.environ.get("PARVIS_DEVELOPMENT", "").strip().lower() not in {"1", "true", "yes", "on"}:
        raise SystemExit(
            "L'API Particulier locale ne démarre qu'en développement (PARVIS_DEVELOPMENT=1)."
        )
    if args.host not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit("L'API Particulier locale n'écoute que sur la boucle locale.")
    server = LocalApiParticulier().start(args.host, args.port)
    print(f"API Particulier locale : {server.url}{PATH_V2} (jeton de démo : {DEMO_TOKEN})")
    try:
        server.thread.join()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
