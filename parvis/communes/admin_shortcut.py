"""The admin's « Voir sur le site » link (/admin/r/<type>/<id>/), scoped to the commune.

Django's shortcut view checks no permission: any staff member could learn the address of another
commune's unpublished news item. Here the object must belong to the agent's commune."""

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.views import shortcut
from django.core.exceptions import ValidationError
from django.http import Http404


@staff_member_required
def scoped_shortcut(request, content_type_id, object_id):
    if not request.user.is_superuser:
        content_type = ContentType.objects.filter(pk=content_type_id).first()
        model = content_type.model_class() if content_type else None
        if model is None:
            raise Http404
        try:
            obj = model._default_manager.filter(pk=object_id).first()
        except (ValueError, ValidationError) as error:
            raise Http404 from error
        if obj is None or getattr(obj, "commune_id", None) != request.user.commune_id:
            raise Http404
    return shortcut(request, content_type_id, object_id)
