"""The two stores on an S3-compatible bucket (PARVIS_STORAGE=s3; see parvis/storage.py)."""

from botocore.exceptions import ClientError
from django.conf import settings
from django.utils.encoding import filepath_to_uri
from storages.backends.s3 import S3Storage

from parvis.storage import NoAddress


class ParvisS3Storage(S3Storage):
    def get_modified_time(self, name):
        # A missing object is FileNotFoundError, as on disk (django-storages lets the 404 out).
        try:
            return super().get_modified_time(name)
        except ClientError as error:
            if error.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
                raise FileNotFoundError(name) from error
            raise


class PublicS3Storage(ParvisS3Storage):
    """Logos and news images, at Parvis's own MEDIA_URL (served from the bucket by
    parvis.portal.views_media): same origin, no public bucket, any S3 service."""

    def url(self, name, *args, **kwargs):
        return settings.MEDIA_URL + filepath_to_uri(name).lstrip("/")


class PrivateS3Storage(NoAddress, ParvisS3Storage):
    """Families' documents and requests' files: private objects, no address."""
