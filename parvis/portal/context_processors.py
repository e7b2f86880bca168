from parvis.communes.links import urls_if_exist
from parvis.portal import display as display_settings
from parvis.portal.navigation import navigation

DISPLAY_PAGES = {"affichage", "affichage_plateforme"}

# The commune's pages that the frame of every page links to (base.html): `frame_urls.<key>`.
FRAME_PAGES = (
    ("home", "portal:home"),
    ("theme_css", "portal:theme_css"),
    ("connexion", "accounts:connexion"),
    ("deconnexion", "accounts:deconnexion"),
    ("mentions_legales", "portal:mentions_legales"),
    ("conditions_generales", "portal:conditions_generales"),
    ("contacts", "portal:contacts"),
    ("plan_du_site", "portal:plan_du_site"),
    ("affichage", "portal:affichage"),
    ("accessibilite", "portal:accessibilite"),
)


def portal(request):
    commune = getattr(request, "commune", None)
    match = getattr(request, "resolver_match", None)
    current = f"{match.namespace}:{match.url_name}" if match and match.namespace else ""
    return {
        "nav_entries": navigation(commune.slug) if commune else [],
        "current_url_name": current,
        "frame_urls": urls_if_exist(FRAME_PAGES, commune.slug) if commune else {},
    }


def display(request):
    """The classes of the visitor's display settings, put on <html> by base.html so that the
    page is drawn with them from the first paint (validated values only: see portal.display)."""
    match = getattr(request, "resolver_match", None)
    on_display_page = match is not None and match.url_name in DISPLAY_PAGES
    return {
        "display_classes": display_settings.html_classes(display_settings.from_request(request)),
        # The footer's link brings the visitor back where they were; on the settings page itself
        # it keeps the page's own « next » rather than nesting one more level each time.
        "display_next": request.GET.get("next", "") if on_display_page else request.get_full_path(),
    }
