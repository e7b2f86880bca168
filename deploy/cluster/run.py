"""`make cluster` (issue 17 §8): Parvis on several nodes, on this machine's loopback.

Starts a fresh PostgreSQL database (on the running server), the S3 API server (moto_server) with
a private and a public bucket, an SMTP sink (here, in a thread: it counts what it receives), two
application servers (gunicorn with deploy/gunicorn.conf.py, production settings), nginx in front
of them (a configuration derived from deploy/nginx/parvis.conf) and two task workers; then runs
the journeys of the issue across them, prints their figures and exits non-zero on any failure.
Everything it started is stopped, and the database dropped, whatever happens; the whole run is
bounded (CLUSTER_TIMEOUT seconds, 280 by default)."""

from __future__ import annotations

import email
import email.policy
import getpass
import os
import random
import re
import secrets
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
PG_ADMIN_URL = os.environ.get("CLUSTER_PG", "postgres://postgres@127.0.0.1:5432/postgres")
TIMEOUT = int(os.environ.get("CLUSTER_TIMEOUT", 280))

SLUG = "grappe"
FAMILIES = 60  # PDFs in two tasks (billing.services_delivery.SEND_BATCH is 50): both workers send
RACERS = 50  # the families racing for the last seats
SEATS = 20  # « Acc Soir »'s seats a day, fewer than the racers' children
KILL_AFTER = 12  # invoice e-mails received before a worker is killed
PERIODIC_WAVE = 3  # periodic jobs started together (each on both « nodes »)
PASSWORD = "une phrase de passe de la grappe"  # noqa: S105 (a throwaway database's)
S3_REGION = "us-east-1"
S3_KEYS = {"AWS_ACCESS_KEY_ID": "parvis-grappe", "AWS_SECRET_ACCESS_KEY": "parvis-grappe-secret"}
INVOICE_SUBJECT = re.compile(r"Votre facture n° (\S+)")


class Failure(Exception):
    """A journey did not go as a user expects: the run fails, saying why."""


class OutOfTime(Exception):
    """The whole run took longer than TIMEOUT: everything stops."""


def say(line: str) -> None:
    print(line, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(what: str, check, *, seconds: float, every: float = 0.2):
    """Polls `check` until it returns something true; Failure after `seconds`."""
    stop = time.monotonic() + seconds
    while True:
        with suppress(requests.RequestException, OSError):
            value = check()
            if value:
                return value
        if time.monotonic() > stop:
            raise Failure(f"{what}: pas au bout de {seconds:.0f} s")
        time.sleep(every)


# --- nginx's configuration -----------------------------------------------------------------------


def _block(text: str, head: str) -> str:
    """The block starting with `head` at the beginning of a line, up to its closing brace."""
    start = re.search(rf"^{head}", text, re.M)
    if not start:
        raise ValueError(f"no « {head} » block")
    depth = 0
    for end in range(text.index("{", start.start()), len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0:
            return text[start.start() : end + 1]
    raise ValueError(f"unclosed « {head} » block")


def nginx_config(shipped: str, *, listen: int, upstreams: list[str], root: Path, user: str = ""):
    """deploy/nginx/parvis.conf made runnable on the loopback by an ordinary user: the shipped
    upstream (its server options kept) pointing at `upstreams`, its log format, and its HTTPS
    server without TLS, on 127.0.0.1:`listen`. Plain HTTP stands in for the TLS listener, so
    Parvis is told « https » as behind the real one, and the Host keeps its port (the browser's
    Referer carries it, as a CSRF check compares them); logs, pid and buffers go under `root`."""
    upstream = _block(shipped, r"upstream parvis")
    options = re.search(r"^\s*server \S+ ([^;]*);", upstream, re.M).group(1)
    servers = "".join(f"    server {address} {options};\n" for address in upstreams)
    keep = [line for line in upstream.splitlines()[1:-1] if not re.match(r"\s*#?\s*server ", line)]
    upstream = "upstream parvis {\n" + servers + "\n".join(keep) + "\n}"
    log_format = re.search(r"^log_format parvis .*?;$", shipped, re.M | re.S).group(0)
    tls = next(
        block
        for block in (
            _block(shipped[match.start() :], "server")
            for match in re.finditer(r"^server\b", shipped, re.M)
        )
        if re.search(r"listen 443", block)
    )
    lines = [f"    listen 127.0.0.1:{listen};", "    server_name _;"]
    for line in tls.splitlines()[1:-1]:
        if re.match(r"\s*(listen|server_name|ssl_)", line):
            continue
        line = re.sub(r"access_log \S+", f"access_log {root}/access.log", line)
        line = re.sub(r"error_log \S+", f"error_log {root}/error.log", line)
        line = line.replace("X-Forwarded-Proto $scheme", "X-Forwarded-Proto https")
        line = line.replace("Host $host", "Host $http_host")
        lines.append(line)
    server = "server {\n" + "\n".join(lines) + "\n}"
    temp = "\n".join(
        f"    {kind}_temp_path {root}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        (f"user {user};\n" if user else "")
        + f"pid {root}/nginx.pid;\nerror_log {root}/error.log warn;\nworker_processes 1;\n"
        + "events {\n    worker_connections 512;\n}\n"
        + "http {\n    include /etc/nginx/mime.types;\n"
        + f"{temp}\n    access_log {root}/access.log;\n"
        + f"{log_format}\n{upstream}\n{server}\n}}\n"
    )


# --- The SMTP sink ------------------------------------------------------------------------------


@dataclass
class Mailbox:
    messages: list[tuple[str, list[str]]] = field(default_factory=list)  # (subject, recipients)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, raw: bytes, recipients: list[str]) -> None:
        subject = str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])
        with self.lock:
            self.messages.append((subject, recipients))

    def subjects(self) -> list[str]:
        with self.lock:
            return [subject for subject, _to in self.messages]

    def invoice_numbers(self) -> Counter:
        return Counter(
            match.group(1)
            for match in map(INVOICE_SUBJECT.search, self.subjects())
            if match is not None
        )


def smtp_sink(mailbox: Mailbox) -> socketserver.ThreadingTCPServer:
    """A minimal SMTP server (RFC 5321's commands as Django's SMTP backend uses them, no TLS, no
    authentication) that keeps every message it accepts in `mailbox`."""

    class Session(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self):
            self.reply("220 puits SMTP de la grappe")
            recipients: list[str] = []
            while line := self.rfile.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    self.reply("250-puits\r\n250-8BITMIME\r\n250 SMTPUTF8")
                elif verb == b"HELO":
                    self.reply("250 puits")
                elif verb == b"MAIL":
                    recipients = []
                    self.reply("250 OK")
                elif verb == b"RCPT":
                    recipients.append(line.decode().split(":", 1)[1].strip().strip("<>"))
                    self.reply("250 OK")
                elif verb == b"DATA":
                    self.reply("354 fin par <CRLF>.<CRLF>")
                    body = []
                    while (part := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                        body.append(part[1:] if part.startswith(b"..") else part)
                    mailbox.add(b"".join(body), recipients)
                    self.reply("250 OK")
                elif verb == b"QUIT":
                    self.reply("221 au revoir")
                    return
                else:  # RSET, NOOP
                    self.reply("250 OK")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Session)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- The processes ------------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path


class Cluster:
    """Every process started, with its log; `stop_all` ends them (TERM, then KILL)."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.root, self.env, self.processes = root, env, {}

    def start(self, name: str, argv: list[str], **env: str) -> Process:
        log = self.root / f"{name}.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen(  # noqa: S603 (our own programs, fixed arguments)
                argv, cwd=ROOT, env={**self.env, **env}, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        self.processes[name] = Process(name, popen, log)
        return self.processes[name]

    def stop(self, name: str, sig: int = signal.SIGTERM, wait: float = 20) -> None:
        process = self.processes.get(name)
        if process is None or process.popen.poll() is not None:
            return
        process.popen.send_signal(sig)
        try:
            process.popen.wait(wait)
        except subprocess.TimeoutExpired:
            process.popen.kill()
            process.popen.wait(5)

    def stop_all(self) -> None:
        for name in reversed(list(self.processes)):
            with suppress(Exception):
                self.stop(name, wait=10)

    def tail(self, name: str, lines: int = 15) -> str:
        with suppress(OSError):
            return "\n".join(self.processes[name].log.read_text().splitlines()[-lines:])
        return ""


# --- A browser -----------------------------------------------------------------------------------


class Client:
    """One user's browser, sent to any node: its cookies (by hand: they are Secure, and the
    loopback speaks plain HTTP behind a « proxy » that says https), its address (X-Forwarded-For,
    as nginx passes it: the per-address limits count it)."""

    def __init__(self, address: str):
        self.http = requests.Session()
        self.cookies: dict[str, str] = {}
        self.address = address

    def go(self, base, method, path, *, data=None, files=None, expect=(200,)):
        url = base + path
        headers = {
            "X-Forwarded-For": self.address,
            "X-Forwarded-Proto": "https",
            "Referer": url.replace("http://", "https://", 1),
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.http.request(
            method, url, data=data, files=files, headers=headers, allow_redirects=False,
            timeout=60,
        )  # fmt: skip
        for cookie in response.cookies:
            self.cookies[cookie.name] = cookie.value
        if response.status_code not in expect:
            raise Failure(f"{method} {path} via {base}: HTTP {response.status_code}")
        return response

    def form(self, base, path, action_part):
        from parvis.portal.bench_load import form_with

        return form_with(self.go(base, "GET", path).text, action_part)

    def log_in(self, base, path, username, password, *, field="username"):
        from parvis.portal.bench_load import forms_of

        page = self.go(base, "GET", path).text
        # The login form posts to its own page (the guichet's has no action).
        form = next(f for f in forms_of(page) if "connexion" in f.action or not f.action)
        token = dict(form.fields)["csrfmiddlewaretoken"]
        data = {"csrfmiddlewaretoken": token, field: username, "password": password}
        return self.go(base, "POST", path, data=data, expect=(302,))


# --- The run ------------------------------------------------------------------------------------


class Run:
    def __init__(self, root: Path):
        self.root = root
        self.failures: list[str] = []
        self.database = f"parvis_cluster_{int(time.time())}_{os.getpid()}"
        self.mailbox = Mailbox()
        self.cluster: Cluster | None = None
        self.sink = None
        self.django_ready = False

    def check(self, ok: bool, what: str) -> None:
        say(f"  {'ok' if ok else 'ÉCHEC'}: {what}")
        if not ok:
            self.failures.append(what)

    # -- set-up --

    def set_up(self) -> None:
        started = time.monotonic()
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.database}"')
        self.sink = smtp_sink(self.mailbox)
        s3_port = free_port()
        self.ports = {"a": free_port(), "b": free_port(), "nginx": free_port()}
        base_db = PG_ADMIN_URL.rsplit("/", 1)[0]
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("PARVIS_", "AWS_", "EMAIL_", "SENTRY_"))
            },
            "DJANGO_SETTINGS_MODULE": "parvis.settings",
            "DATABASE_URL": f"{base_db}/{self.database}",
            "DEBUG": "0",
            "PARVIS_DEVELOPMENT": "0",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PARVIS_TRUSTED_PROXIES": "127.0.0.1",
            "PARVIS_BASE_URL": f"http://127.0.0.1:{self.ports['nginx']}",
            "PARVIS_TASKS": "database",
            "PARVIS_STORAGE": "s3",
            "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
            "AWS_STORAGE_BUCKET_NAME": "parvis-grappe-prive",
            "PARVIS_PUBLIC_BUCKET": "parvis-grappe-public",
            "AWS_S3_REGION_NAME": S3_REGION,
            **S3_KEYS,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.sink.server_address[1]),
            "EMAIL_USE_TLS": "0",
            "EMAIL_TIMEOUT": "10",
            "PARVIS_STATUS_TOKEN": secrets.token_urlsafe(32),
            "PARVIS_VAR_DIR": str(self.root / "var"),
            "MEDIA_ROOT": str(self.root / "var" / "media"),
            "PRIVATE_MEDIA_ROOT": str(self.root / "var" / "private"),
            "STATIC_ROOT": str(ROOT / "var" / "cluster-static"),
            "PARVIS_WEB_WORKERS": "2",
            "LOG_LEVEL": "WARNING",
        }
        self.env = env
        cluster = self.cluster = Cluster(self.root, env)
        cluster.start("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)])
        # The schema and the static files at the same time (collectstatic needs no database).
        begun = time.monotonic()
        python = [str(BIN / "python"), "manage.py"]
        steps = {
            name: cluster.start(name, [*python, *argv])
            for name, argv in [("migrate", ["migrate", "--noinput", "-v0"]),
                               ("collectstatic", ["collectstatic", "--noinput", "-v0"])]
        }  # fmt: skip
        for name, process in steps.items():
            if process.popen.wait(timeout=180):
                raise Failure(f"manage.py {name}: {cluster.tail(name)}")
            say(f"{name}: done after {time.monotonic() - begun:.1f} s")
        os.environ.update(env)
        import django

        django.setup()
        self.django_ready = True
        wait_for("moto_server", lambda: requests.get(env["AWS_S3_ENDPOINT_URL"], timeout=2),
                 seconds=30)  # fmt: skip
        s3 = self.s3()
        for bucket in (env["AWS_STORAGE_BUCKET_NAME"], env["PARVIS_PUBLIC_BUCKET"]):
            s3.create_bucket(Bucket=bucket)
        begun = time.monotonic()
        self.build_commune()
        say(f"commune_built: {FAMILIES} families in {time.monotonic() - begun:.1f} s")
        gunicorn = [str(BIN / "gunicorn"), "--config", "deploy/gunicorn.conf.py"]
        for node in ("a", "b"):
            # Each node its own control socket (on separate machines, the default one each).
            socket_path = str(self.root / f"gunicorn-{node}.ctl")
            cluster.start(
                f"node-{node}",
                [*gunicorn, "--control-socket", socket_path, "parvis.wsgi:application"],
                PARVIS_BIND=f"127.0.0.1:{self.ports[node]}",
            )
        for number in (1, 2):
            self.start_worker(number, f"grappe-{number}")
        config = self.root / "nginx.conf"
        user = getpass.getuser() if os.geteuid() == 0 else ""
        config.write_text(
            nginx_config(
                (ROOT / "deploy" / "nginx" / "parvis.conf").read_text(),
                listen=self.ports["nginx"],
                upstreams=[f"127.0.0.1:{self.ports[n]}" for n in ("a", "b")],
                root=self.root,
                user=user,
            )
        )
        argv = [NGINX, "-p", str(self.root), "-c", str(config), "-e", str(self.root / "error.log")]
        checked = subprocess.run([*argv, "-t"], capture_output=True, text=True)  # noqa: S603
        if checked.returncode:
            raise Failure(f"nginx -t: {checked.stderr}")
        cluster.start("nginx", [*argv, "-g", "daemon off;"])
        for name in ("a", "b", "nginx"):
            wait_for(
                f"/healthz de {name}",
                lambda n=name: requests.get(f"{self.url(n)}/healthz", timeout=5).ok,
                seconds=60,
            )
        say(f"cluster_up: {time.monotonic() - started:.1f} s (database {self.database}, nodes "
            f"{self.ports['a']} {self.ports['b']}, nginx {self.ports['nginx']}, S3 {s3_port}, "
            f"SMTP {self.sink.server_address[1]})")  # fmt: skip

    def start_worker(self, number: int, worker_id: str) -> None:
        self.cluster.start(
            f"worker-{number}",
            [str(BIN / "python"), "manage.py", "db_worker", "--queue-name=*",
             f"--worker-id={worker_id}", "--interval=0.5"],
        )  # fmt: skip

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def s3(self):
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.env["AWS_S3_ENDPOINT_URL"], region_name=S3_REGION,
            aws_access_key_id=S3_KEYS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_KEYS["AWS_SECRET_ACCESS_KEY"],
        )  # fmt: skip

    def build_commune(self) -> None:
        """The benchmark's reference commune (zone C, families of 2 or 3 children, one account
        each, an administrator agent), last month booked and billable, nothing booked after."""
        from django.contrib.auth.hashers import make_password

        from parvis.accounts.models import User
        from parvis.activities.models import Unit
        from parvis.billing.bench import build_invoicing_commune
        from parvis.families.models import Famille
        from parvis.portal.management.commands.bench import build_reference_commune

        world = build_invoicing_commune(FAMILIES, slug=SLUG, build_commune=build_reference_commune)
        self.regie, self.month = world["regie"], world["month"]
        self.commune = self.regie.commune
        User.objects.filter(commune=self.commune).update(password=make_password(PASSWORD))
        Famille.objects.filter(commune=self.commune).update(paperless_invoice=True)
        Unit.objects.filter(commune=self.commune, code="ACC_SOIR").update(capacity=SEATS)
        self.agent = User.objects.get(username=f"{SLUG}-agent")

    # -- the journeys --

    def session_across_nodes(self) -> None:
        say("--- 1. connexion sur le nœud A, suite sur le nœud B")
        client = Client("10.1.0.1")
        started = time.perf_counter()
        client.log_in(self.url("a"), f"/{SLUG}/connexion/", "parent1@ref.fr", PASSWORD)
        page = client.go(self.url("b"), "GET", f"/{SLUG}/mon-espace/", expect=(200, 302))
        elapsed = (time.perf_counter() - started) * 1000
        say(f"  login_on_a_then_page_on_b: {elapsed:.0f} ms")
        self.check(page.status_code == 200, "la session ouverte sur A est reconnue par B")
        page = client.go(self.url("nginx"), "GET", f"/{SLUG}/mon-espace/", expect=(200, 302))
        self.check(page.status_code == 200, "et par nginx (l'un ou l'autre nœud)")

    def document_across_nodes(self) -> None:
        say("--- 2. document déposé sur A, ouvert par un agent sur B")
        from parvis.families.models import Document
        from parvis.testing.files import pdf_bytes

        content = pdf_bytes("Attestation de la grappe")
        family = Client("10.2.0.1")
        family.log_in(self.url("a"), f"/{SLUG}/connexion/", "parent2@ref.fr", PASSWORD)
        path = f"/{SLUG}/mon-espace/documents/ajouter/"
        form = family.form(self.url("a"), path, "ajouter")
        data = {
            **dict(form.fields),
            **({"famille": form.options["famille"][0]} if "famille" in form.options else {}),
            "doc_type": "autre",
            "personne": "foyer",
            "label": "Attestation de la grappe",
            "document_date": date.today().isoformat(),
        }
        started = time.perf_counter()
        response = family.go(
            self.url("a"), "POST", path, data=data,
            files={"fichier": ("attestation.pdf", content, "application/pdf")}, expect=(302,),
        )  # fmt: skip
        say(f"  upload_on_a: {(time.perf_counter() - started) * 1000:.0f} ms")
        pk = int(response.headers["Location"].rsplit("document-", 1)[1])
        document = Document.objects.get(pk=pk)
        keys = [
            item["Key"]
            for item in self.s3()
            .list_objects_v2(Bucket=self.env["AWS_STORAGE_BUCKET_NAME"])
            .get("Contents", [])
        ]
        self.check(
            any(key.endswith(document.file.name) for key in keys),
            f"le fichier est dans le compartiment privé ({len(keys)} objet(s))",
        )
        private = Path(self.env["PRIVATE_MEDIA_ROOT"])
        on_disk = [p for p in private.rglob("*") if p.is_file()] if private.exists() else []
        self.check(not on_disk, "aucun fichier privé sur le disque d'un nœud")
        agent = Client("10.2.0.2")
        agent.log_in(self.url("b"), f"/{SLUG}/guichet/connexion/", self.agent.username, PASSWORD)
        started = time.perf_counter()
        opened = agent.go(self.url("b"), "GET", f"/{SLUG}/guichet/documents/{pk}/telecharger/")
        say(f"  open_on_b: {(time.perf_counter() - started) * 1000:.0f} ms, "
            f"{len(opened.content)} bytes")  # fmt: skip
        self.check(opened.content == content, "l'agent sur B lit les mêmes octets")
        stranger = Client("10.2.0.3")
        stranger.log_in(self.url("b"), f"/{SLUG}/connexion/", "parent3@ref.fr", PASSWORD)
        refused = stranger.go(
            self.url("b"), "GET", f"/{SLUG}/mon-espace/documents/{pk}/telecharger/",
            expect=(302, 403, 404),
        )  # fmt: skip
        self.check(
            refused.content != content, f"une autre famille ne l'a pas ({refused.status_code})"
        )

    def race(self) -> None:
        say(f"--- 3. {RACERS} familles, depuis les deux nœuds, pour les dernières places")
        from django.db.models import Count

        from parvis.activities.models import SEAT_HOLDING, Reservation, Unit, UnitDay
        from parvis.portal import bench_load

        today = date.today()
        month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        recorder = bench_load.Recorder()
        done: list[int] = []
        deadline = time.monotonic() + 150

        def run(index: int) -> None:
            node = self.url("a" if index % 2 else "b")
            browser = bench_load.Browser(node, f"10.3.{index // 250}.{index % 250 + 1}", recorder)
            family = bench_load.Family(
                email=f"parent{index + 1}@ref.fr", password=PASSWORD, children=2 + index % 2
            )
            if bench_load.journey(
                browser, family, slug=SLUG, months=[month], think=(0, 0), deadline=deadline,
                rng=random.Random(index),  # noqa: S311 (no pause: think is 0)
            ):  # fmt: skip
                done.append(index)

        started = time.monotonic()
        threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        say(f"  journeys: {len(done)} of {RACERS} in {time.monotonic() - started:.1f} s")
        for line in recorder.report():
            say(f"  {line}")
        for example in recorder.examples:
            say(f"  error_example: {example}")
        self.check(len(done) == RACERS, "chaque famille va jusqu'à la confirmation")
        units = {u.pk: u for u in Unit.objects.filter(commune=self.commune)}
        held = Counter(
            {
                (u, d): n
                for u, d, n in Reservation.objects.filter(
                    commune=self.commune, status__in=SEAT_HOLDING, day__range=(month, end)
                )
                .values("unit_id", "day")
                .annotate(n=Count("pk"))
                .values_list("unit_id", "day", "n")
            }
        )
        counters = {
            (row.unit_id, row.day): row.taken
            for row in UnitDay.objects.filter(unit__commune=self.commune, day__range=(month, end))
        }
        limited = [pair for pair in set(held) | set(counters) if units[pair[0]].seats is not None]
        oversold = sum(max(0, held[pair] - units[pair[0]].seats) for pair in limited)
        mismatched = sum(1 for pair in limited if counters.get(pair, 0) != held[pair])
        waiting = Reservation.objects.filter(
            commune=self.commune, day__range=(month, end), status="liste_attente"
        ).count()
        full = sum(1 for pair in limited if held[pair] == units[pair[0]].seats)
        say(f"  bookings: {sum(held.values())} waiting_list: {waiting} full_unit_days: {full}")
        say(f"  oversold_seats: {oversold} counters_not_equal_to_bookings: {mismatched}")
        self.check(full > 0 and waiting > 0, "des jours complets et une liste d'attente")
        self.check(oversold == 0, "aucune place vendue deux fois")
        self.check(mismatched == 0, "les compteurs égalent les réservations")

    def invoicing(self) -> None:
        say("--- 4. facturation : les PDF envoyés par les deux workers, un worker tué en route")
        from django_tasks_db.models import DBTaskResult

        from parvis.billing.models import Delivery, Invoice, InvoicingRun, InvoicingRunStatus
        from parvis.billing.services_runs import start_run

        def to_send(run):  # the run's online invoices not e-mailed yet (the page's « à envoyer »)
            return Invoice.objects.filter(
                run=run, delivery=Delivery.COURRIEL, emailed_at__isnull=True
            ).exclude(status="annulee")

        started = time.monotonic()
        run, queued = start_run(regie=self.regie, month=self.month, actor=self.agent)
        self.check(queued, "la facturation part en tâche de fond")
        run = wait_for(
            "la facturation",
            lambda: InvoicingRun.objects.filter(pk=run.pk, status=InvoicingRunStatus.TERMINEE)
            .first(),
            seconds=120, every=0.5,
        )  # fmt: skip
        invoices = Invoice.objects.filter(run=run)
        online = {
            str(number)
            for number in invoices.filter(delivery=Delivery.COURRIEL).values_list(
                "number", flat=True
            )
        }
        say(f"  run_billed: {run.invoice_count} invoices, {len(online)} online, "
            f"in {time.monotonic() - started:.1f} s")  # fmt: skip
        # « Envoyer » on the run's page, by the agent through nginx.
        agent = Client("10.4.0.1")
        agent.log_in(
            self.url("nginx"), f"/{SLUG}/guichet/connexion/", self.agent.username, PASSWORD
        )
        page = f"/{SLUG}/guichet/regie/facturation/{run.pk}/"

        def envoyer() -> None:
            from parvis.portal.bench_load import forms_of

            forms = forms_of(agent.go(self.url("nginx"), "GET", page).text)
            token = next(f for f in forms if dict(f.fields).get("csrfmiddlewaretoken"))
            data = {"csrfmiddlewaretoken": dict(token.fields)["csrfmiddlewaretoken"]}
            agent.go(self.url("nginx"), "POST", page, data={**data, "action": "envoyer"},
                     expect=(302,))  # fmt: skip

        started = time.monotonic()
        envoyer()
        sends = DBTaskResult.objects.filter(task_path__endswith="send_invoices")

        def sent() -> int:
            return sum(self.mailbox.invoice_numbers().values())

        wait_for("les premiers envois", lambda: sent() >= KILL_AFTER, seconds=90, every=0.05)
        running = {
            worker
            for ids in sends.filter(status="RUNNING").values_list("worker_ids", flat=True)
            for worker in ids
        }
        victim = 1 if "grappe-1" in running or "grappe-2" not in running else 2
        self.cluster.stop(f"worker-{victim}", signal.SIGKILL)
        at_kill = sent()
        say(f"  worker_killed: grappe-{victim} (SIGKILL) after {at_kill} e-mails, "
            f"{time.monotonic() - started:.1f} s")  # fmt: skip
        self.start_worker(victim, f"grappe-{victim}-relance")

        def settled() -> bool:
            # Nothing waits; what runs is only the killed worker's task (left « running »).
            busy = sends.filter(status__in=["READY", "RUNNING"]).exclude(
                worker_ids__contains=[f"grappe-{victim}"]
            )
            return not busy.exists() and not sends.filter(status="READY").exists()

        wait_for("la fin des envois", settled, seconds=120, every=0.5)
        left = to_send(run).count()
        # The agent presses « Envoyer » again: the page shows the invoices still to send.
        before = sends.count()
        envoyer()
        again = sends.count() - before
        say(f"  left_by_the_killed_worker: {left} invoices, « Envoyer » again: {again} task(s)")
        wait_for("les renvois", settled, seconds=120, every=0.5)
        wait_for(
            "le dernier e-mail", lambda: not to_send(run).exists(),
            seconds=30,
        )  # fmt: skip
        time.sleep(1)  # a message in flight reaches the sink
        received = self.mailbox.invoice_numbers()
        twice = sorted(n for n, c in received.items() if c > 1)
        missing = sorted(online - set(received))
        workers = {w for ids in sends.values_list("worker_ids", flat=True) for w in ids}
        orphans = sends.filter(status="RUNNING").count()
        say(f"  invoice_emails_received: {sum(received.values())} for {len(online)} online "
            f"invoices in {time.monotonic() - started:.1f} s; twice: {len(twice)} missing: "
            f"{len(missing)} {missing[:5]}")  # fmt: skip
        say(f"  send_tasks: {sends.count()} by workers {sorted(workers)}; left running by the "
            f"killed worker: {orphans}")  # fmt: skip
        self.check(not twice, "aucune facture reçue deux fois")
        self.check(not missing, "chaque facture en ligne reçue")
        self.check({"grappe-1", "grappe-2"} <= workers, "les deux workers ont envoyé des PDF")

    def periodic(self) -> None:
        say("--- 5. les tâches périodiques lancées sur les deux nœuds à la fois")
        from parvis.background.models import PeriodicRun

        timers = sorted((ROOT / "deploy" / "systemd").glob("parvis-*.timer"))
        jobs = [
            re.search(r"Unit=parvis-periodic@(\S+)\.service", t.read_text()).group(1)
            for t in timers
            if "parvis-periodic@" in t.read_text()
        ]
        # Each job as its timer starts it on each node (AccuracySec=1s: the same second), a
        # process of its own that boots Django then takes the job's lock; a few jobs at a time
        # (the two cores are shared).
        started = time.monotonic()
        outputs, codes = {}, {}
        for wave in range(0, len(jobs), PERIODIC_WAVE):
            processes = {
                (job, node): subprocess.Popen(  # noqa: S603
                    [str(BIN / "python"), "manage.py", "run_periodic", job],
                    cwd=ROOT,
                    env={**self.env, "PARVIS_NODE": node},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                for job in jobs[wave : wave + PERIODIC_WAVE]
                for node in ("a", "b")
            }
            for key, process in processes.items():
                outputs[key] = process.communicate(timeout=150)[0]
                codes[key] = process.returncode
        say(f"  processes: {len(codes)} ({len(jobs)} jobs × 2 nodes) in "
            f"{time.monotonic() - started:.1f} s")  # fmt: skip
        for job in jobs:
            runs = list(PeriodicRun.objects.filter(job=job).values_list("pid", "started_at"))
            skipped = sum("déjà en cours" in outputs[job, node] for node in ("a", "b"))
            exits = [codes[job, node] for node in ("a", "b")]
            apart = (
                (max(r[1] for r in runs) - min(r[1] for r in runs)).total_seconds() if runs else 0
            )
            say(f"  {job}: runs={len(runs)} (pids {[r[0] for r in runs]}, starts {apart:.2f} s "
                f"apart) said_already_running={skipped} exit={exits}")  # fmt: skip
            if any(exits):
                say("    " + " | ".join(outputs[job, n].strip()[-300:] for n in ("a", "b")))
            self.check(len(runs) == 1 and exits == [0, 0], f"{job} exécutée une seule fois")

    def failover(self) -> None:
        say("--- 6. le nœud A arrêté en pleine démarche, l'usager continue par nginx")
        from parvis.portal.bench_load import Browser, Recorder, form_with

        recorder = Recorder()
        browser = Browser(self.url("nginx"), "10.6.0.1", recorder)
        slug = SLUG
        page = browser.request("login_get", "GET", f"/{slug}/connexion/")
        token = dict(form_with(page, "connexion").fields)["csrfmiddlewaretoken"]
        browser.request(
            "login_post", "POST", f"/{slug}/connexion/",
            {"csrfmiddlewaretoken": token, "username": f"parent{RACERS + 5}@ref.fr",
             "password": PASSWORD},
            expect=(302,),
        )  # fmt: skip
        month = (date.today().replace(day=1) + timedelta(days=64)).replace(day=1)
        grid = f"/{slug}/mon-espace/reservations/foyer/"
        page = browser.request("grid", "GET", f"{grid}?vue=mois&debut={month:%Y-%m-%d}")
        before = len(self.access_lines())
        stopped = time.monotonic()
        self.cluster.stop("node-a")
        say(f"  node_a_stopped: in {time.monotonic() - stopped:.1f} s")
        form = form_with(page, "/reservations/foyer/")
        data = [*form.fields, *[(n, v) for n, v, _c in form.boxes if n == "c"]]
        page = browser.request("basket", "POST", grid, [*data, ("action", "panier")])
        basket = form_with(page, "/foyer/panier/")
        browser.request("validate", "POST", basket.action, basket.fields, expect=(302,))
        browser.request("confirmation", "GET", f"{grid}confirmation/")
        for _ in range(10):
            browser.request("mon_espace", "GET", f"/{slug}/mon-espace/")
        # nginx writes a request's line once it has answered: wait a moment for the last one.
        deadline = time.monotonic() + 5
        after = self.access_lines()[before:]
        while len(after) < 13 and time.monotonic() < deadline:
            time.sleep(0.2)
            after = self.access_lines()[before:]
        node_a = f"127.0.0.1:{self.ports['a']}"
        retried = sum(1 for line in after if f"upstream={node_a}, " in line)
        served_by_a = sum(1 for line in after if re.search(rf"upstream={node_a}( |$)", line))
        errors = sum(recorder.errors.values())
        say(f"  requests_after_stop: {len(after)} errors: {errors} passed_on_to_b: {retried} "
            f"answered_by_a: {served_by_a}")  # fmt: skip
        for example in recorder.examples:
            say(f"  error_example: {example}")
        if len(after) < 13:
            for line in after:
                say(f"  access: {line}")
        self.check(errors == 0 and len(after) >= 13, "l'usager termine sa démarche par B")
        self.check(served_by_a == 0, "plus rien n'est servi par A")

    def access_lines(self) -> list[str]:
        with suppress(OSError):
            return (self.root / "access.log").read_text().splitlines()
        return []

    def status(self) -> None:
        say("--- état vu par l'exploitant (/healthz/status par nginx)")
        response = requests.get(
            f"{self.url('nginx')}/healthz/status",
            headers={"Authorization": f"Bearer {self.env['PARVIS_STATUS_TOKEN']}"},
            timeout=30,
        )
        report = (
            response.json()
            if response.headers.get("Content-Type", "").startswith("application/json")
            else {}
        )
        storage = {name: part.get("status") for name, part in report.get("storage", {}).items()}
        say(f"  status: HTTP {response.status_code} {report.get('status')} storage: {storage} "
            f"task_queue: {report.get('task_queue')} email: {report.get('email')}")  # fmt: skip
        self.check(
            response.status_code == 200 and report.get("status") == "ok",
            "le rapport de l'exploitant est au vert (base, compartiments, files, tâches)",
        )

    # -- tear-down --

    def tear_down(self) -> None:
        if self.cluster:
            self.cluster.stop_all()
        if self.sink:
            self.sink.shutdown()
        if self.django_ready:
            from django.db import connections

            connections.close_all()
        with suppress(Exception):
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def main() -> int:
    started = time.monotonic()

    def out_of_time(signum, frame):
        raise OutOfTime(f"plus de {TIMEOUT} s : arrêt")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    signal.alarm(TIMEOUT)
    root = Path(tempfile.mkdtemp(prefix="parvis-cluster-"))
    run = Run(root)
    try:
        run.set_up()
        journeys = (run.session_across_nodes, run.document_across_nodes, run.race,
                    run.invoicing, run.periodic, run.failover, run.status)  # fmt: skip
        only = os.environ.get("CLUSTER_ONLY", "").split(",")  # e.g. race,periodic (debugging)
        for journey in [j for j in journeys if j.__name__ in only or only == [""]]:
            begun = time.monotonic()
            try:
                journey()
            except Failure as failure:
                run.check(False, str(failure))
            except (requests.RequestException, LookupError, ValueError) as error:
                run.check(False, f"{journey.__name__}: {type(error).__name__}: {error}")
            say(f"  ({time.monotonic() - begun:.1f} s)")
    except Exception as error:
        run.failures.append(f"{type(error).__name__}: {error}")
        say(f"ÉCHEC: {type(error).__name__}: {error}")
    finally:
        signal.alarm(0)
        if run.failures and run.cluster:
            for name in run.cluster.processes:
                say(f"--- log {name}:\n{run.cluster.tail(name)}")
        run.tear_down()
        shutil.rmtree(root, ignore_errors=True)
    say(f"total: {time.monotonic() - started:.1f} s, failures: {len(run.failures)}")
    for failure in run.failures:
        say(f"  - {failure}")
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
