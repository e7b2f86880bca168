"""The restore drill (README « Backups »): a small commune (families, an invoice, documents with
their files, a logo) is backed up with `manage.py backup`, restored by `manage.py restore` in
another process, as an operator would, into a fresh database (PostgreSQL: a new database; SQLite:
a new file) and fresh stores (new folders, or new S3 buckets), and every family, invoice and
document is found again there, each file byte for byte. Runs on both storage backends
(`file_store`) and on the suite's database."""

import hashlib
import json
import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection

from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import FamilleFactory, make_document, pdf_upload
from parvis.storage import PRIVATE, PUBLIC
from parvis.testing.files import pdf_bytes, png_bytes
from parvis.testing.regie import line, make_invoice, make_regie
from parvis.testing.storage import drop_bucket, new_bucket

BASE_DIR = Path(__file__).resolve().parents[2]
SLUG = "villebois-sauvegarde"


def snapshot() -> dict:
    """What must come back, read through the models and the stores (also run by the restored
    deployment's process: `manage.py shell`)."""
    from parvis.billing.models import Invoice
    from parvis.communes.models import Commune
    from parvis.families.models import Document, Famille

    def sha(field) -> str:
        with field.open("rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()

    commune = Commune.objects.get(slug=SLUG)
    return {
        "logo": sha(commune.logo),
        "families": sorted([f.number, f.name] for f in Famille.objects.filter(commune=commune)),
        "invoices": sorted(
            [i.number, i.famille.name, str(i.total), i.label, i.lines.count()]
            for i in Invoice.objects.filter(commune=commune)
        ),
        "documents": sorted(
            [d.famille.name, d.label, d.content_type, d.file.name, sha(d.file)]
            for d in Document.objects.filter(commune=commune)
        ),
    }


def look_and_restore_again(source: str) -> None:
    print(json.dumps(snapshot()))
    try:
        call_command("restore", source=source)
    except CommandError as refusal:
        print(refusal)
    else:
        print("restored twice")


def build_commune() -> dict:
    commune = CommuneFactory(slug=SLUG, name="Villebois")
    commune.logo.save("logo.png", ContentFile(png_bytes()))
    familles = [
        FamilleFactory(commune=commune, name=name) for name in ("DURAND", "MARTIN", "PETIT")
    ]
    regie = make_regie(commune)
    make_invoice(regie, familles[0], lines=[line("45.10"), line("12.35", label="Cantine")])
    for famille in familles[:2]:
        make_document(
            famille=famille,
            doc_type="autre",
            label=f"Attestation {famille.name}",
            upload=pdf_upload(content=pdf_bytes(f"Attestation {famille.name}")),
        )
    return snapshot()


def database_url(name: str) -> str:
    settings_dict = connection.settings_dict
    credentials = settings_dict["USER"] or ""
    if settings_dict.get("PASSWORD"):
        credentials += f":{settings_dict['PASSWORD']}"
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{name}"


@pytest.fixture
def fresh_database(tmp_path):
    """The DATABASE_URL of a new, empty database of the suite's engine."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(name)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_store_environment(file_store, tmp_path):
    """Variables naming new, empty stores of the same backend as `file_store`."""
    if file_store.kind == "local":
        yield {
            "PARVIS_STORAGE": "local",
            "MEDIA_ROOT": str(tmp_path / "restored-media"),
            "PRIVATE_MEDIA_ROOT": str(tmp_path / "restored-private"),
        }
        return
    bucket = new_bucket(file_store.endpoint, "parvis-restored")
    public_bucket = new_bucket(file_store.endpoint, "parvis-restored-public")
    environment = {**file_store.environment(), "AWS_STORAGE_BUCKET_NAME": bucket,
                   "PARVIS_PUBLIC_BUCKET": public_bucket}  # fmt: skip
    try:
        yield environment
    finally:
        drop_bucket(file_store.endpoint, bucket)
        drop_bucket(file_store.endpoint, public_bucket)


def parvis(*arguments: str, environment: dict[str, str]) -> str:
    """manage.py in a process of its own, with production settings and these variables."""
    variables = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PARVIS_", "AWS_", "DJANGO_"))
        and key not in ("DATABASE_URL", "MEDIA_ROOT", "PRIVATE_MEDIA_ROOT", "DEBUG")
    }
    variables.update(
        DJANGO_SETTINGS_MODULE="parvis.settings",
        SECRET_KEY="restore-drill-" + "k" * 50,
        PARVIS_EMAIL_DISABLED="1",
        **environment,
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(BASE_DIR / "manage.py"), *arguments],
        env=variables,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.django_db(transaction=True)
def test_restore_drill(file_store, fresh_database, fresh_store_environment, tmp_path):
    expected = build_commune()
    assert len(expected["families"]) == 3 and len(expected["documents"]) == 2
    assert expected["invoices"][0][2] == str(Decimal("57.45"))

    call_command("backup", to=tmp_path / "sauvegarde")
    manifest = json.loads((tmp_path / "sauvegarde" / "manifest.json").read_text())
    assert len(manifest["files"][PRIVATE]) == 2 and len(manifest["files"][PUBLIC]) == 1

    environment = {"DATABASE_URL": fresh_database, **fresh_store_environment}
    output = parvis("restore", "--from", str(tmp_path / "sauvegarde"), environment=environment)
    assert "Restauration faite" in output
    # What the restored deployment holds, then a second restore there, which is refused: never
    # over a deployment's data (one process for both: each start of Django costs seconds).
    restored = parvis(
        "shell",
        "-c",
        f"from parvis.tests.test_backup import look_and_restore_again; "
        f"look_and_restore_again({str(tmp_path / 'sauvegarde')!r})",
        environment=environment,
    )
    found, refusal = restored.strip().splitlines()[-2:]
    assert json.loads(found) == expected
    assert "n'est pas vide" in refusal


@pytest.mark.django_db
def test_backup_wants_a_new_folder_and_restore_an_empty_database(tmp_path):
    taken = tmp_path / "pris"
    taken.mkdir()
    (taken / "autre.txt").write_text("x")
    with pytest.raises(CommandError, match="n'est pas vide"):
        call_command("backup", to=taken)
    with pytest.raises(CommandError, match="pas une sauvegarde de Parvis"):
        call_command("restore", source=taken)


@pytest.mark.django_db
def test_a_damaged_backup_is_refused_before_anything_is_restored(file_store, tmp_path):
    CommuneFactory(slug=SLUG)
    famille = FamilleFactory()
    document = make_document(famille=famille, doc_type="autre")
    call_command("backup", to=tmp_path / "sauvegarde")
    copy = tmp_path / "sauvegarde" / "files" / PRIVATE / document.file.name
    copy.write_bytes(copy.read_bytes() + b"!")
    # The suite's database is not empty either: the checks come first, nothing is written.
    with pytest.raises(CommandError, match="ne correspond plus à la sauvegarde"):
        call_command("restore", source=tmp_path / "sauvegarde")
    assert file_store.names(PRIVATE) == [document.file.name]


def test_the_nightly_script_keeps_the_newest_complete_backups(tmp_path):
    """deploy/backup/parvis-backup: a dated folder made by `manage.py backup` (a stand-in here),
    the PARVIS_BACKUP_KEEP newest kept, an unfinished one (no manifest) removed."""
    backups = tmp_path / "sauvegardes"
    for stamp in ("20261201T023000Z", "20261202T023000Z", "20261203T023000Z"):
        (backups / f"parvis-{stamp}").mkdir(parents=True)
        (backups / f"parvis-{stamp}" / "manifest.json").write_text("{}")
    (backups / "parvis-20261204T023000Z").mkdir()  # a backup that died midway
    manage = tmp_path / "parvis-manage"
    manage.write_text('#!/bin/sh\n[ "$1" = backup ] && [ "$2" = --to ] && mkdir "$3" '
                      '&& echo "{}" > "$3/manifest.json"\n')  # fmt: skip
    manage.chmod(0o755)
    result = subprocess.run(  # noqa: S603
        [str(BASE_DIR / "deploy" / "backup" / "parvis-backup")],
        env={
            **os.environ,
            "PARVIS_BACKUP_DIR": str(backups),
            "PARVIS_BACKUP_KEEP": "2",
            "PARVIS_MANAGE": str(manage),
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    kept = sorted(path.name for path in backups.iterdir())
    assert len(kept) == 2
    assert kept[0] == "parvis-20261203T023000Z"
    assert kept[1] > "parvis-20261204" and (backups / kept[1] / "manifest.json").exists()
