"""Public pages of a commune, the list of hosted communes, health check and development outbox."""

import hashlib

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import DatabaseError, connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from parvis import mail
from parvis.communes import rgaa, selectors, selectors_platform
from parvis.communes.links import safe_next, url_if_exists
from parvis.communes.theme import contrast_with_white
from parvis.portal import display, sitemap
from parvis.portal.forms import DisplaySettingsForm

NEWS_PER_PAGE = 10
COMMUNES_PER_PAGE = 20
COMMUNE_QUERY_MAX_LENGTH = 100
LATEST_NEWS_ON_HOME = 3

# Entry points of the home page (seed 000), shown once the page they lead to exists.
HOME_ENTRY_POINTS = {
    "login": "accounts:connexion",
    "password_reset": "accounts:mot_de_passe_oublie",
    "signup": "accounts:creer_mon_espace",
    "demarches": "demarches:catalogue",
}


def page_not_found(request, exception):
    """The friendly 404: inside a commune's address (even an unknown page of it), the page keeps
    the commune's header and leads back to its home; elsewhere it leads to the list of communes."""
    if getattr(request, "commune", None) is None:
        first_segment = request.path.strip("/").split("/", 1)[0]
        request.commune = selectors.commune_by_slug(first_segment) if first_segment else None
    # The footer's display-settings link does not carry the unknown address back (no echo of it).
    return render(request, "404.html", {"display_next": ""}, status=404)


@require_GET
def commune_list(request):
    """The platform's page: the communes online, searched by name or postal code (without regard
    to case or accents) and paginated; two queries whatever the number of communes."""
    query = request.GET.get("q", "").strip()[:COMMUNE_QUERY_MAX_LENGTH]
    paginator = Paginator(selectors_platform.searched_communes(query), COMMUNES_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "portal/commune_list.html",
        {"page": page, "query": query, "max_length": COMMUNE_QUERY_MAX_LENGTH},
    )


@require_GET
def home(request):
    commune = request.commune
    entry_urls = {key: url_if_exists(name, commune.slug) for key, name in HOME_ENTRY_POINTS.items()}
    if not commune.login_with_email:
        # In « code famille » mode accounts are handed out at the desk: no self sign-up.
        entry_urls["signup"] = None
    return render(
        request,
        "portal/home.html",
        {
            "entry_urls": entry_urls,
            "latest_news": selectors.published_news(commune)[:LATEST_NEWS_ON_HOME],
            "town_hall": selectors.town_hall_hours(commune),
        },
    )


@require_GET
def infos_pratiques(request):
    return render(
        request,
        "portal/infos_pratiques.html",
        {"info": selectors.practical_info(request.commune)},
    )


@require_GET
def actualites(request):
    paginator = Paginator(selectors.published_news(request.commune), NEWS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "portal/actualites.html", {"page": page})


@require_GET
def actualite(request, reference: str):
    item = selectors.news_item(request.commune, reference)
    return render(request, "portal/actualite.html", {"item": item})


@require_GET
def contacts(request):
    return render(
        request,
        "portal/contacts.html",
        {"info": selectors.practical_info(request.commune)},
    )


def static_page(template_name):
    @require_GET
    def view(request):
        return render(request, template_name, {"hosting": settings.PARVIS_HOSTING})

    view.__name__ = template_name.rsplit("/", 1)[-1].removesuffix(".html")
    return view


@require_GET
def accessibilite(request):
    return render(
        request,
        "portal/accessibilite.html",
        {"statement": selectors.accessibility_statement(request.commune)},
    )


@require_GET
def accessibilite_grille(request):
    """The self-assessment grid of the 106 RGAA criteria, theme by theme."""
    return render(
        request,
        "portal/accessibilite_grille.html",
        {
            "statement": selectors.accessibility_statement(request.commune),
            "themes": rgaa.by_theme(),
        },
    )


@require_GET
def plan_du_site(request):
    """« Plan du site »: every page of the commune's portal by section (RGAA 12.1)."""
    return render(
        request,
        "portal/plan_du_site.html",
        {"sections": sitemap.plan(commune=request.commune, user=request.user)},
    )


mentions_legales = static_page("portal/mentions_legales.html")
conditions_generales = static_page("portal/conditions_generales.html")


@never_cache
@require_http_methods(["GET", "POST"])
def affichage(request):
    """« Paramètres d'affichage »: a plain form (no JavaScript needed) whose settings this
    browser keeps in a cookie (parvis.portal.display); then back to the page it came from."""
    commune = getattr(request, "commune", None)
    within = f"/{commune.slug}/" if commune else "/"
    data = request.POST if request.method == "POST" else request.GET
    next_url = safe_next(request, data.get("next"), within=within)
    if request.method == "POST" and request.POST.get("action") == "reinitialiser":
        response = redirect(next_url or request.path)
        display.delete_cookie(response)
        messages.success(request, _("Les paramètres d'affichage par défaut sont rétablis."))
        return response
    if request.method == "POST":
        form = DisplaySettingsForm(request.POST)
        if form.is_valid():
            response = redirect(next_url or request.path)
            display.set_cookie(response, form.settings_values())
            messages.success(
                request, _("Vos paramètres d'affichage sont enregistrés pour ce navigateur.")
            )
            return response
    else:
        form = DisplaySettingsForm(initial=display.from_request(request))
    return render(request, "portal/affichage.html", {"form": form, "next_url": next_url})


@require_GET
def theme_css(request):
    """The commune's colours as CSS custom properties: a stylesheet, since the strict
    Content-Security-Policy forbids inline styles."""
    colour = request.commune.theme_colour
    css = (
        ":root {\n"
        f"  --theme: {colour};\n"
        f"  --theme-contrast: {'#ffffff' if contrast_with_white(colour) >= 4.5 else '#000000'};\n"
        "}\n"
    )
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    response["ETag"] = '"' + hashlib.sha256(css.encode()).hexdigest()[:16] + '"'
    return response


@never_cache
@require_GET
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def _require_development():
    # The outbox holds password-reset links: a developer's machine only (PARVIS_DEVELOPMENT,
    # which refuses any host but loopback), never merely DEBUG.
    if not settings.PARVIS_DEVELOPMENT:
        raise Http404


@never_cache
@require_GET
def outbox(request):
    _require_development()
    return render(request, "portal/dev_outbox.html", {"messages_sent": mail.outbox_messages()})


@never_cache
@require_GET
def outbox_message(request, key: str):
    _require_development()
    message = mail.outbox_message(key)
    if message is None:
        raise Http404
    return render(request, "portal/dev_outbox_message.html", {"message": message})
