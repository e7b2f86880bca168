"""The citizen's « Télécharger mes données »: the page says what the archive holds, the button
asks for it (a background task builds it and an e-mail says when it is ready), and the ready
archive is downloaded from here by its own account only, for EXPORT_DAYS days.

The URL names stay in the « accounts » namespace of the citizen's space (parvis/urls.py)."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from parvis.accounts.decorators import citizen_required
from parvis.ids import parse_id
from parvis.rgpd import selectors, services
from parvis.rgpd.models import ExportStatus


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def mes_donnees(request):
    user, commune = request.user, request.commune
    if request.method == "POST":
        services.request_export(user=user, commune=commune)
        messages.success(
            request,
            _(
                "Votre archive est en préparation. Un courriel vous prévient dès qu'elle est "
                "prête ; vous la téléchargez ensuite depuis cette page."
            ),
        )
        return redirect("accounts:telecharger_donnees", commune=commune.slug)
    now = timezone.now()
    exports = selectors.exports_of(user=user, commune=commune)
    return render(
        request,
        "rgpd/mes_donnees.html",
        {
            "exports": exports,
            "export_days": services.EXPORT_DAYS,
            "pending": any(
                e.status == ExportStatus.EN_PREPARATION
                and e.requested_at > now - services.STALE_AFTER
                for e in exports
            ),
            "now": now,
        },
    )


@never_cache
@require_http_methods(["GET"])
@citizen_required
def archive(request, pk):
    export = selectors.downloadable_export(
        user=request.user, commune=request.commune, pk=parse_id(pk)
    )
    if export is None:
        raise Http404(_("Cette archive n'est plus disponible."))
    try:
        handle = export.file.open("rb")
    except FileNotFoundError as error:
        raise Http404(_("Cette archive n'est plus disponible.")) from error
    filename = (
        f"mes-donnees-{request.commune.slug}-{timezone.localtime(export.ready_at):%Y-%m-%d}.zip"
    )
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type="application/zip"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# Included in the citizen's space (namespace « accounts », parvis/urls.py).
account_urlpatterns = [
    path("mon-espace/mes-donnees/", mes_donnees, name="telecharger_donnees"),
    path("mon-espace/mes-donnees/<int:pk>/archive.zip", archive, name="archive_donnees"),
]
