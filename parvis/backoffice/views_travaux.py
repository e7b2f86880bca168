"""The page of a background job an agent started (a bulk decision, reminders), under
/<commune>/guichet/travaux/<pk>/: its progress (done / total), what it did so far, why it
stopped, « Reprendre » when it stopped; it reloads itself while the job runs (a Refresh header,
no JavaScript), until « Arrêter l'actualisation ». Only the agent who started it sees it."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from parvis.accounts.agents import agent_required
from parvis.accounts.services_jobs import resume_job
from parvis.background import jobs
from parvis.background import selectors as background
from parvis.communes.links import safe_next

REFRESH_SECONDS = 3  # the page reloads itself this often while the job runs


@agent_required
@require_http_methods(["GET", "POST"])
def travail(request, pk: int):
    job = background.job_for(commune_id=request.commune.pk, actor_id=request.user.pk, pk=pk)
    if job is None:
        raise Http404
    if request.method == "POST":
        if request.POST.get("action") != "reprendre":
            messages.error(request, _("Action inconnue : rien n'a été fait."))
        elif resume_job(commune=request.commune, job=job, actor=request.user):
            messages.success(request, _("Traitement repris : cette page suit son avancement."))
        else:
            messages.info(request, _("Ce traitement n'est pas arrêté : rien à reprendre."))
        return redirect(request.path)
    now = timezone.now()
    running = jobs.is_running(job, now=now)
    follow = request.GET.get("suivi") != "non"
    response = render(
        request,
        "backoffice/travail.html",
        {
            "job": job,
            "label": jobs.label(job),
            "summary": jobs.summary(job),
            "error": jobs.error_message(job),
            "running": running,
            "resumable": jobs.can_resume(job, now=now),
            "done": min(job.done, job.total),
            "follow": follow,
            "refresh_seconds": REFRESH_SECONDS,
            "back": safe_next(request, job.return_url) or "",
        },
    )
    if running and follow:
        # The browser reloads it without JavaScript; « Arrêter l'actualisation » (?suivi=non)
        # stops it, as WCAG 2.2.1 asks.
        response["Refresh"] = str(REFRESH_SECONDS)
    return response
