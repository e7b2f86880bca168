"""Backup and restore of a deployment: the database and every stored file (manage.py backup and
restore, README « Backups »).

A backup is a folder:

    manifest.json       what it holds: database engine and file, each stored file's size and
                        SHA-256; written last, so a folder without it is an unfinished backup
    database.pgdump     PostgreSQL: pg_dump's custom format (pg_restore reads it)
    database.sqlite3    SQLite: a copy made by SQLite's online backup (consistent while Parvis
                        runs)
    files/default/…     the public media (logos, news images)
    files/private/…     the private files (families' documents, requests' attachments)

The database is dumped first, then the files copied: a file added meanwhile is copied without
its row (harmless), one deleted meanwhile is missing from the backup, so run it at a quiet hour.
A restore goes into an EMPTY database and EMPTY stores only (never over a running deployment),
checks every file against its checksum, and says what it restored.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.core.files import File
from django.core.files.storage import storages
from django.db import connections

from parvis.storage import FILE_STORES, stored_files

FORMAT = 1
MANIFEST = "manifest.json"
DUMPS = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; its message says why, for the operator."""


@dataclass
class Summary:
    database: str
    files: dict[str, int]


# --- Backup ---------------------------------------------------------------------------------------


def backup(target: Path, *, using: str = "default") -> Summary:
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"Le dossier {target} n'est pas vide : choisissez un dossier neuf.")
    target.mkdir(parents=True, exist_ok=True)
    connection = connections[using]
    vendor = connection.vendor
    if vendor not in DUMPS:
        raise BackupError(f"Base de données « {vendor} » non prise en charge.")
    dump = target / DUMPS[vendor]
    if vendor == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}"],
             connection.settings_dict)  # fmt: skip
    else:
        # A connection of its own, like pg_dump's: what is committed, never a transaction's
        # half (and no wait on a transaction of the caller's).
        live = sqlite3.connect(str(connection.settings_dict["NAME"]), timeout=60)
        copy = sqlite3.connect(dump)
        try:
            live.backup(copy)
        finally:
            copy.close()
            live.close()
    files = {alias: _copy_store_out(alias, target / "files" / alias) for alias in FILE_STORES}
    manifest = {
        "parvis_backup": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": {"vendor": vendor, "file": dump.name, "sha256": _sha256(dump)},
        "files": files,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    return Summary(database=vendor, files={alias: len(items) for alias, items in files.items()})


def _copy_store_out(alias: str, folder: Path) -> list[dict]:
    storage = storages[alias]
    items = []
    for name in stored_files(storage):
        destination = folder / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        with storage.open(name, "rb") as source, destination.open("wb") as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        items.append({"name": name, "size": size, "sha256": digest.hexdigest()})
    return items


# --- Restore --------------------------------------------------------------------------------------


def restore(source: Path, *, using: str = "default") -> Summary:
    source = Path(source)
    manifest = _read_manifest(source)
    connection = connections[using]
    vendor = manifest["database"]["vendor"]
    if vendor != connection.vendor:
        raise BackupError(
            f"Cette sauvegarde vient d'une base « {vendor} » : la base configurée est "
            f"« {connection.vendor} »."
        )
    dump = source / manifest["database"]["file"]
    if _sha256(dump) != manifest["database"]["sha256"]:
        raise BackupError(f"{dump} ne correspond plus à la sauvegarde (somme de contrôle).")
    for alias in FILE_STORES:
        _check_files(source / "files" / alias, manifest["files"][alias])
    if connection.introspection.table_names():
        raise BackupError(
            "La base de données configurée n'est pas vide : une restauration se fait dans une "
            "base neuve (créez-la, puis indiquez-la dans DATABASE_URL)."
        )
    for alias in FILE_STORES:
        if next(stored_files(storages[alias]), None) is not None:
            raise BackupError(
                f"Le stockage « {alias} » contient déjà des fichiers : une restauration se fait "
                "dans un dossier ou un compartiment (bucket) vide."
            )
    if vendor == "postgresql":
        restore_command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                           "--single-transaction", str(dump)]  # fmt: skip
        _run(restore_command, connection.settings_dict, database_flag=True)
    else:
        _restore_sqlite(connection, dump)
    connection.close()  # the next query sees the restored tables
    for alias in FILE_STORES:
        _copy_store_in(alias, source / "files" / alias, manifest["files"][alias])
    return Summary(
        database=vendor, files={alias: len(manifest["files"][alias]) for alias in FILE_STORES}
    )


def _read_manifest(source: Path) -> dict:
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except FileNotFoundError as missing:
        raise BackupError(
            f"{source} n'a pas de {MANIFEST} : ce n'est pas une sauvegarde de Parvis, ou elle "
            "est inachevée."
        ) from missing
    if manifest.get("parvis_backup") != FORMAT:
        raise BackupError(f"Format de sauvegarde inconnu : {manifest.get('parvis_backup')!r}.")
    return manifest


def _check_files(folder: Path, items: list[dict]) -> None:
    for item in items:
        path = folder / item["name"]
        if not path.is_file() or _sha256(path) != item["sha256"]:
            raise BackupError(f"{path} manque ou ne correspond plus à la sauvegarde.")


def _copy_store_in(alias: str, folder: Path, items: list[dict]) -> None:
    storage = storages[alias]
    for item in items:
        with (folder / item["name"]).open("rb") as handle:
            saved = storage.save(item["name"], File(handle))
        if saved != item["name"]:  # the rows name the files: a renamed one would be lost
            raise BackupError(f"« {item['name']} » a été enregistré sous « {saved} ».")


def _restore_sqlite(connection, dump: Path) -> None:
    connection.close()
    target = str(connection.settings_dict["NAME"])
    backup_db = sqlite3.connect(dump)
    restored = sqlite3.connect(target)
    try:
        backup_db.backup(restored)
    finally:
        backup_db.close()
        restored.close()


# --- Helpers --------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _run(command: list[str], settings_dict: dict, *, database_flag: bool = False) -> None:
    """pg_dump or pg_restore on the database of these settings; the password goes through the
    environment, never the command line (other users see it in `ps`)."""
    if shutil.which(command[0]) is None:
        raise BackupError(
            f"{command[0]} est introuvable : installez le paquet postgresql-client (de la même "
            "version que le serveur, ou plus récente)."
        )
    environment = {**os.environ}
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"),
                          ("PGPASSWORD", "PASSWORD")):  # fmt: skip
        if settings_dict.get(key):
            environment[variable] = str(settings_dict[key])
    if settings_dict.get("OPTIONS", {}).get("sslmode"):
        environment["PGSSLMODE"] = settings_dict["OPTIONS"]["sslmode"]
    name = settings_dict["NAME"]
    command = [*command, f"--dbname={name}"] if database_flag else [*command, name]
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{command[0]} a échoué : {result.stderr.strip()}")
