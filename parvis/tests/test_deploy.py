"""Issue 17 §1 and §6: what an operator installs (the locks, deploy/) says what the code does."""

import getpass
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import get_commands, load_command_class

from parvis import health
from parvis.background.management.commands.run_periodic import WRAPPED
from parvis.background.periodic import PeriodicCommand
from parvis.uploads import MAX_UPLOAD_SIZE

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SYSTEMD = DEPLOY / "systemd"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

DEV_TOOLS = {
    "pytest",
    "pytest-django",
    "pytest-xdist",
    "playwright",
    "axe-playwright-python",
    "ruff",
    "djlint",
    "import-linter",
    "hypothesis",
    "factory-boy",
    "time-machine",
    "pip-tools",
    "mutmut",
    "moto",
}


def pinned(lock: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / lock).read_text().splitlines():
        match = re.match(r"([A-Za-z0-9._-]+)==(\S+)", line)
        if match:
            pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


def test_the_runtime_lock_holds_no_development_tool_and_a_wsgi_server():
    runtime = pinned("requirements.lock")
    assert not DEV_TOOLS & set(runtime)
    for package in ("django", "gunicorn", "sentry-sdk", "psycopg", "weasyprint"):
        assert package in runtime


def test_the_development_lock_adds_the_tools_at_the_same_versions():
    runtime, development = pinned("requirements.lock"), pinned("requirements-dev.lock")
    assert DEV_TOOLS - {"moto", "mutmut"} <= set(development)
    assert {name: development.get(name) for name in runtime} == runtime


# --- systemd -------------------------------------------------------------------------------------


def unit(name: str) -> dict[str, list[str]]:
    """The `Key=value` lines of a unit file, by key."""
    values: dict[str, list[str]] = {}
    for line in (SYSTEMD / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def readme_periodic_commands() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Periodic commands", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `manage\.py (?:run_periodic )?(\w+)", section, re.MULTILINE))


def timed_jobs() -> dict[str, str]:
    """{job: timer} for every timer, the job read from the command its service runs."""
    jobs = {}
    for timer in SYSTEMD.glob("*.timer"):
        target = unit(timer.name)["Unit"][0]
        service = re.sub(r"@[^.]+\.service$", "@.service", target)
        assert (SYSTEMD / service).exists(), f"{timer.name} starts {target}: no such unit"
        words = unit(service)["ExecStart"][0].split("manage.py ", 1)[1].split()
        job = words[1] if words[0] == "run_periodic" else words[0]
        if job == "%i":
            job = target.split("@", 1)[1].removesuffix(".service")
        jobs[job] = timer.name
    return jobs


def test_every_periodic_command_of_the_readme_has_a_timer_and_a_status_line():
    commands = readme_periodic_commands()
    assert commands == set(health.PERIODIC_COMMANDS)
    assert set(timed_jobs()) == commands


def test_every_timer_starts_a_job_that_run_periodic_locks_and_records():
    for job, timer in timed_jobs().items():
        app = get_commands()[job]
        command = app if not isinstance(app, str) else load_command_class(app, job)
        assert isinstance(command, PeriodicCommand) or job in WRAPPED, timer


def test_the_units_run_commands_that_exist():
    known = set(get_commands())
    for service in SYSTEMD.glob("*.service"):
        exec_start = unit(service.name)["ExecStart"][0]
        assert exec_start.startswith("/opt/parvis/"), service.name  # the installed checkout
        if "manage.py " in exec_start:
            command = exec_start.split("manage.py ", 1)[1].split()[0]
            assert command == "%i" or command in known, f"{service.name}: {command}"
        assert unit(service.name)["EnvironmentFile"] == ["/etc/parvis/parvis.env"]
        assert unit(service.name)["User"] == ["parvis"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is absent")
def test_the_timers_calendars_are_valid():
    for timer in SYSTEMD.glob("*.timer"):
        for calendar in unit(timer.name)["OnCalendar"]:
            result = subprocess.run(  # noqa: S603
                ["systemd-analyze", "calendar", calendar],  # noqa: S607
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert result.returncode == 0, f"{timer.name}: {result.stderr}"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is absent")
def test_systemd_accepts_every_unit(tmp_path):
    """`systemd-analyze verify` on the units, pointed at this checkout and its interpreter: an
    unknown key, a bad value or a missing program is a warning on stderr."""
    venv_bin = str(Path(sys.executable).parent) + "/"
    for source in SYSTEMD.iterdir():
        text = source.read_text().replace("/opt/parvis/.venv/bin/", venv_bin)
        (tmp_path / source.name).write_text(text.replace("/opt/parvis", str(ROOT)))
    instances = []
    for source in SYSTEMD.iterdir():
        name = source.name
        if "@." in name:  # a template: verify one instance of it
            name = name.replace("@.", "@purge_attempts." if "periodic@" in name else "@1.")
            (tmp_path / name).symlink_to(tmp_path / source.name)
        instances.append(name)
    result = subprocess.run(  # noqa: S603
        ["systemd-analyze", "verify", "--man=no", *instances],  # noqa: S607
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stderr == ""
    assert result.returncode == 0


# --- The environment: every variable in the example file and in the README -----------------------

ENV_READ = re.compile(
    r"""(?:os\.environ\.get\(|os\.environ\[|env_bool\(|env_list\()\s*["']([A-Z][A-Z0-9_]+)["']"""
)


def variables_read() -> set[str]:
    sources = [ROOT / "parvis" / "settings.py", DEPLOY / "gunicorn.conf.py"]
    return {name for source in sources for name in ENV_READ.findall(source.read_text())}


def test_the_variable_scan_sees_the_settings():
    found = variables_read()
    assert {"SECRET_KEY", "PARVIS_BASE_URL", "DEBUG", "ALLOWED_HOSTS", "PARVIS_BIND"} <= found


def test_the_example_environment_holds_every_variable():
    example = (DEPLOY / "parvis.env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    assert sorted(variables_read() - listed) == []
    assert sorted(listed - variables_read()) == []


def test_the_readme_configuration_table_lists_every_variable():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}
    assert sorted(variables_read() - documented) == []


# --- nginx ---------------------------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path):
    subprocess.run(  # noqa: S603
        [  # noqa: S607
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=portail.example.fr",
            "-keyout",
            str(tmp_path / "privkey.pem"),
            "-out",
            str(tmp_path / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return tmp_path


def nginx_test(tmp_path: Path, site: str) -> subprocess.CompletedProcess:
    """`nginx -t` on a main configuration that includes the site, as Debian's does."""
    (tmp_path / "logs").mkdir(exist_ok=True)
    (tmp_path / "parvis.conf").write_text(site)
    mime_types = Path("/etc/nginx/mime.types")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/logs/error.log;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        + (f"    include {mime_types};\n" if mime_types.exists() else "")
        + f"    access_log {tmp_path}/logs/access.log;\n"
        f"    include {tmp_path}/parvis.conf;\n"
        "}\n"
    )
    return subprocess.run(  # noqa: S603
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )


def installed_site(certificate: Path) -> str:
    """The shipped site with this test's certificate and log paths."""
    site = (DEPLOY / "nginx" / "parvis.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/portail.example.fr", str(certificate))
    return site.replace("/var/log/nginx/", f"{certificate}/logs/")


@pytest.mark.skipif(NGINX is None, reason="nginx is absent (`make nginx` installs Debian's)")
def test_the_nginx_configuration_is_valid(certificate):
    result = nginx_test(certificate, installed_site(certificate))
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


@pytest.mark.skipif(NGINX is None, reason="nginx is absent (`make nginx` installs Debian's)")
def test_nginx_t_catches_a_broken_configuration(certificate):
    broken = installed_site(certificate).replace(
        "client_max_body_size 25m;", "client_max_body 25m;"
    )
    result = nginx_test(certificate, broken)
    assert result.returncode != 0
    assert "client_max_body" in result.stderr


def test_the_nginx_configuration_passes_what_parvis_relies_on():
    site = (DEPLOY / "nginx" / "parvis.conf").read_text()
    directives = {" ".join(line.split()) for line in site.splitlines()}
    # The body limit: Parvis's own request limit for files plus 1 MB for the other fields, so
    # that Parvis, not nginx, refuses a too-large upload (with a message next to the field).
    assert "client_max_body_size 25m;" in directives
    request_limit = getattr(settings, "PARVIS_UPLOAD_MAX_REQUEST_SIZE", 2 * MAX_UPLOAD_SIZE)
    assert request_limit + 1024 * 1024 <= 25 * 1024 * 1024
    # The visitor's address and scheme, for PARVIS_TRUSTED_PROXIES (parvis.accounts.network).
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in directives
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in directives
    assert "proxy_set_header Host $host;" in directives
    # The request id Parvis logs and returns (parvis.logs.RequestIdMiddleware).
    assert "proxy_set_header X-Request-ID $request_id;" in directives
    assert "listen 443 ssl http2;" in directives
    assert "return 301 https://$host$request_uri;" in directives


# --- The example environment starts Parvis -------------------------------------------------------


def test_the_example_environment_filled_in_passes_the_deployment_checks(tmp_path):
    example = (DEPLOY / "parvis.env.example").read_text()
    filled = example.replace("SECRET_KEY=\n", "SECRET_KEY=" + "s3cr3t-" * 10 + "\n").replace(
        "PARVIS_VAR_DIR=/var/lib/parvis", f"PARVIS_VAR_DIR={tmp_path}"
    )
    (tmp_path / "parvis.env").write_text(filled)
    env = {
        "PATH": "/usr/bin:/bin",
        "PARVIS_ENV_FILE": str(tmp_path / "parvis.env"),
        "PARVIS_HOME": str(ROOT),
        "PARVIS_USER": getpass.getuser(),
        "HOME": str(tmp_path),
    }
    result = subprocess.run(  # noqa: S603 — our own script
        [
            str(DEPLOY / "parvis-manage"),
            "shell",
            "-c",
            "from django.conf import settings as s; print(s.DEFAULT_FROM_EMAIL); "
            "from django.core.management import call_command; "
            "call_command('check', '--deploy', '--tag', 'security', '--fail-level', 'WARNING')",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # A value with spaces and « < » reaches Parvis whole, as systemd would give it.
    assert "Parvis <ne-pas-repondre@portail.example.fr>" in result.stdout


# --- gunicorn ------------------------------------------------------------------------------------


def test_gunicorn_loads_its_configuration_and_parvis(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        "SECRET_KEY": "g" * 60,
        "PARVIS_EMAIL_DISABLED": "1",
        "ALLOWED_HOSTS": "portail.example.fr",
        "PARVIS_VAR_DIR": str(tmp_path),
        "PARVIS_BIND": "10.0.0.11:8000",
        "PARVIS_WEB_WORKERS": "3",
    }
    gunicorn = Path(sys.executable).parent / "gunicorn"
    result = subprocess.run(  # noqa: S603 — the venv's gunicorn
        [
            str(gunicorn),
            *("--config", str(DEPLOY / "gunicorn.conf.py")),
            *("--print-config", "--check-config", "parvis.wsgi:application"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    config = {
        key.strip(): value.strip()
        for key, _, value in (line.partition(" = ") for line in result.stdout.splitlines())
    }
    assert config["bind"] == "['10.0.0.11:8000']"
    assert config["workers"] == "3"
    # Under nginx's proxy_read_timeout (deploy/nginx/parvis.conf: 60 s).
    assert int(config["timeout"]) < 60
    assert "x-request-id" in config["access_log_format"]
