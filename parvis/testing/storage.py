"""The file stores under test, on both backends (a pytest plugin, see conftest.py).

`file_store` runs a test twice: on local folders (a fresh temporary pair), then on S3 buckets of
the S3 API server named by PARVIS_TEST_S3_ENDPOINT (`.ci/run` starts `moto_server` and sets it;
locally: `.venv/bin/moto_server -p 5917 &` then `PARVIS_TEST_S3_ENDPOINT=http://127.0.0.1:5917`).
Without it the S3 run is skipped, saying so. Each S3 run gets its own fresh bucket, removed after.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from parvis.storage import PRIVATE, PUBLIC, local_storages, s3_storages, stored_files

S3_ENDPOINT_VARIABLE = "PARVIS_TEST_S3_ENDPOINT"
# moto accepts any keys; real services never see these.
S3_TEST_KEYS = {"access_key": "parvis-test", "secret_key": "parvis-test-secret"}
S3_TEST_REGION = "us-east-1"


def s3_endpoint() -> str:
    endpoint = os.environ.get(S3_ENDPOINT_VARIABLE, "").strip()
    if not endpoint:
        pytest.skip(
            f"S3 backend not tested: {S3_ENDPOINT_VARIABLE} is unset (.ci/run starts moto_server "
            "and sets it)"
        )
    return endpoint


def s3_client(endpoint: str):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_TEST_REGION,
        aws_access_key_id=S3_TEST_KEYS["access_key"],
        aws_secret_access_key=S3_TEST_KEYS["secret_key"],
    )


def new_bucket(endpoint: str, prefix: str = "parvis-test") -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:16]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


def drop_bucket(endpoint: str, bucket: str) -> None:
    client = s3_client(endpoint)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", ()):
            client.delete_object(Bucket=bucket, Key=item["Key"])
    client.delete_bucket(Bucket=bucket)


def s3_test_storages(endpoint: str, bucket: str, public_bucket: str = "") -> dict:
    return s3_storages(
        private_bucket=bucket,
        public_bucket=public_bucket,
        endpoint_url=endpoint,
        region_name=S3_TEST_REGION,
        **S3_TEST_KEYS,
    )


def s3_environment(endpoint: str, bucket: str, public_bucket: str = "") -> dict[str, str]:
    """The variables an operator sets for these buckets (for a subprocess of Parvis)."""
    return {
        "PARVIS_STORAGE": "s3",
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "PARVIS_PUBLIC_BUCKET": public_bucket,
        "AWS_S3_REGION_NAME": S3_TEST_REGION,
        "AWS_ACCESS_KEY_ID": S3_TEST_KEYS["access_key"],
        "AWS_SECRET_ACCESS_KEY": S3_TEST_KEYS["secret_key"],
    }


@dataclass
class FileStore:
    """The stores a test runs on, and how to look into them behind Parvis's back."""

    kind: str  # "local" or "s3"
    endpoint: str = ""
    bucket: str = ""
    public_bucket: str = ""
    roots: dict[str, Path] = field(default_factory=dict)

    def names(self, alias: str) -> list[str]:
        from django.core.files.storage import storages

        return list(stored_files(storages[alias]))

    def read(self, alias: str, name: str) -> bytes:
        from django.core.files.storage import storages

        with storages[alias].open(name, "rb") as handle:
            return handle.read()

    def object_key(self, alias: str, name: str) -> str:
        from django.core.files.storage import storages

        return storages[alias]._normalize_name(name)

    def environment(self) -> dict[str, str]:
        if self.kind == "s3":
            return s3_environment(self.endpoint, self.bucket, self.public_bucket)
        return {
            "PARVIS_STORAGE": "local",
            "MEDIA_ROOT": str(self.roots[PUBLIC]),
            "PRIVATE_MEDIA_ROOT": str(self.roots[PRIVATE]),
        }


@pytest.fixture(params=["local", "s3"])
def file_store(request, settings, tmp_path_factory):
    """Public media and private files on local folders, then on S3 (see the module's doc)."""
    static = settings.STORAGES["staticfiles"]
    if request.param == "local":
        root = tmp_path_factory.mktemp("stores")
        settings.MEDIA_ROOT = root / "media"
        settings.PRIVATE_MEDIA_ROOT = root / "private"
        settings.STORAGES = {**local_storages(), "staticfiles": static}
        yield FileStore(kind="local", roots={PUBLIC: root / "media", PRIVATE: root / "private"})
        return
    endpoint = s3_endpoint()
    bucket = new_bucket(endpoint)
    public_bucket = new_bucket(endpoint, "parvis-test-public")
    settings.STORAGES = {**s3_test_storages(endpoint, bucket, public_bucket), "staticfiles": static}
    try:
        yield FileStore(kind="s3", endpoint=endpoint, bucket=bucket, public_bucket=public_bucket)
    finally:
        drop_bucket(endpoint, bucket)
        drop_bucket(endpoint, public_bucket)
