"""Where Parvis keeps files: Django's STORAGES, on local disk by default or, with
PARVIS_STORAGE=s3, on an S3-compatible bucket (django-storages), so that every application server
sees the same files.

Two stores, whatever the backend:

- « default » (PUBLIC): the public media, communes' logos and news images. Parvis serves them
  itself at MEDIA_URL (parvis.portal.views_media), from the same origin as its pages, so the
  Content-Security-Policy keeps `img-src 'self'` and no bucket has to be readable by the world.
- « private » (PRIVATE): the families' documents, the requests' attachments, absence
  certificates. They have no address (`url()` refuses); they leave only through the views that
  check who asks, streamed from the storage.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.core.signals import setting_changed
from django.utils.functional import LazyObject, cached_property, empty

PUBLIC = "default"
PRIVATE = "private"
# The stores a backup copies, in this order.
FILE_STORES = (PUBLIC, PRIVATE)

# Objects under these prefixes, so that one bucket may hold both stores.
S3_PUBLIC_PREFIX = "public"
S3_PRIVATE_PREFIX = "private"


def local_storages() -> dict:
    """MEDIA_ROOT and PRIVATE_MEDIA_ROOT, read when first used (a test may change them)."""
    return {
        PUBLIC: {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        PRIVATE: {"BACKEND": "parvis.storage.PrivateFileSystemStorage"},
    }


def s3_storages(
    *,
    private_bucket: str,
    public_bucket: str = "",
    endpoint_url: str | None = None,
    region_name: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    addressing_style: str | None = "path",
    acl: str | None = "private",
) -> dict:
    common = {
        "endpoint_url": endpoint_url or None,
        "region_name": region_name or None,
        "access_key": access_key or None,
        "secret_key": secret_key or None,
        "addressing_style": addressing_style or None,
        # Every object private (the bucket's own policy may say more, never less): Parvis reads
        # them with its keys and hands them out itself.
        "default_acl": acl or None,
        # Like a folder: a second file of the same name gets a new name instead of replacing
        # the first (two communes' « logo.png »).
        "file_overwrite": False,
        # Above 2 MB a file read from the bucket spools to disk, as an upload does.
        "max_memory_size": 2 * 1024 * 1024,
    }
    return {
        PUBLIC: {
            "BACKEND": "parvis.storage_s3.PublicS3Storage",
            "OPTIONS": {
                **common,
                "bucket_name": public_bucket or private_bucket,
                "location": S3_PUBLIC_PREFIX,
            },
        },
        PRIVATE: {
            "BACKEND": "parvis.storage_s3.PrivateS3Storage",
            "OPTIONS": {
                **common,
                "bucket_name": private_bucket,
                "location": S3_PRIVATE_PREFIX,
                # Should anything ask for a signed address anyway, it dies within a minute.
                "querystring_auth": True,
                "querystring_expire": 60,
            },
        },
    }


class NoAddress:
    """A private store: its files are reached through Parvis's views only."""

    def url(self, name, *args, **kwargs):
        raise ValueError(
            "Les fichiers privés n'ont pas d'adresse : ils passent par une vue qui vérifie qui "
            "les demande."
        )


class PrivateFileSystemStorage(NoAddress, FileSystemStorage):
    """PRIVATE_MEDIA_ROOT, outside every public root."""

    @cached_property
    def base_location(self):
        return self._value_or_setting(self._location, settings.PRIVATE_MEDIA_ROOT)

    def _clear_cached_properties(self, setting, **kwargs):
        super()._clear_cached_properties(setting, **kwargs)
        if setting == "PRIVATE_MEDIA_ROOT":
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)


class PrivateStorage(LazyObject):
    """STORAGES["private"], looked up again when the setting changes (as Django's
    default_storage is): the FileFields keep this one object."""

    def _setup(self):
        self._wrapped = storages[PRIVATE]


private_files = PrivateStorage()


def _reset_private(*, setting, **kwargs):
    if setting == "STORAGES":
        private_files._wrapped = empty


setting_changed.connect(_reset_private)


def stored_files(storage, directory: str = "") -> Iterator[str]:
    """Every file name of a store, walking its folders (or an S3 bucket's prefixes)."""
    try:
        folders, files = storage.listdir(directory)
    except FileNotFoundError:  # a local store not created yet holds nothing
        return
    for name in sorted(files):
        yield f"{directory}/{name}" if directory else name
    for folder in sorted(folders):
        yield from stored_files(storage, f"{directory}/{folder}" if directory else folder)
