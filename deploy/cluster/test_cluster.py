"""The small pure parts of `make cluster`'s driver (deploy/cluster/run.py): the nginx
configuration it derives from the shipped one, and its SMTP sink. The journeys themselves run in
`make cluster` only (minutes, several servers)."""

import importlib.util
import shutil
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SHIPPED = (HERE.parent / "nginx" / "parvis.conf").read_text()
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

_spec = importlib.util.spec_from_file_location("parvis_cluster_run", HERE / "run.py")
cluster = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = cluster  # its dataclasses look their module up
_spec.loader.exec_module(cluster)


def derived(tmp_path: Path) -> str:
    return cluster.nginx_config(
        SHIPPED, listen=8123, upstreams=["127.0.0.1:9001", "127.0.0.1:9002"], root=tmp_path
    )


def test_the_derived_nginx_config_puts_both_nodes_behind_one_plain_http_listener(tmp_path):
    config = derived(tmp_path)
    assert "    server 127.0.0.1:9001 max_fails=1 fail_timeout=10s;" in config
    assert "    server 127.0.0.1:9002 max_fails=1 fail_timeout=10s;" in config
    assert "127.0.0.1:8000" not in config  # the shipped single node is gone
    assert "listen 127.0.0.1:8123;" in config
    assert "ssl" not in config and "443" not in config and "portail.example.fr" not in config
    # Parvis hears what it hears behind the TLS listener, and the port the browser used.
    assert "proxy_set_header X-Forwarded-Proto https;" in config
    assert "proxy_set_header Host $http_host;" in config
    # The rest of the shipped proxy block is kept as it is.
    for kept in (
        "proxy_next_upstream error timeout http_502 http_503;",
        "keepalive 16;",
        "client_max_body_size 25m;",
        "X-Forwarded-For $proxy_add_x_forwarded_for;",
    ):
        assert kept in config
    assert f"access_log {tmp_path}/access.log parvis;" in config
    assert "/var/log/nginx" not in config
    assert "user " not in config.split("events")[0]


def test_as_root_the_nginx_workers_run_as_the_given_user(tmp_path):
    config = cluster.nginx_config(
        SHIPPED, listen=8123, upstreams=["127.0.0.1:9001"], root=tmp_path, user="ci"
    )
    assert config.startswith("user ci;\n")


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make nginx)")
def test_nginx_accepts_the_derived_config(tmp_path):
    (tmp_path / "nginx.conf").write_text(derived(tmp_path))
    checked = subprocess.run(  # noqa: S603
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
         "-e", str(tmp_path / "error.log")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr


def test_the_smtp_sink_keeps_each_message_once_with_its_decoded_subject():
    mailbox = cluster.Mailbox()
    server = cluster.smtp_sink(mailbox)
    try:
        with smtplib.SMTP(*server.server_address, timeout=5) as smtp:
            for number in (7916, 7917):
                message = EmailMessage()
                message["Subject"] = f"Carrières — Votre facture n° {number}"
                message["From"] = "ne-pas-repondre@parvis.local"
                message["To"] = "famille@example.fr"
                message.set_content(".une ligne qui commence par un point\n")
                smtp.send_message(message)
    finally:
        server.shutdown()
    assert mailbox.subjects() == [
        "Carrières — Votre facture n° 7916",
        "Carrières — Votre facture n° 7917",
    ]
    assert mailbox.invoice_numbers() == {"7916": 1, "7917": 1}
    assert mailbox.messages[0][1] == ["famille@example.fr"]
