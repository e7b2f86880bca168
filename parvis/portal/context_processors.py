from parvis.portal import display as display_settings
from parvis.portal.navigation import navigation


def portal(request):
    commune = getattr(request, "commune", None)
    match = getattr(request, "resolver_match", None)
    current = f"{match.namespace}:{match.url_name}" if match and match.namespace else ""
    return {
        "nav_entries": navigation(commune.slug) if commune else [],
        "current_url_name": current,
    }


def display(request):
    """The classes of the visitor's display settings, put on <html> by base.html so that the
    page is drawn with them from the first paint (validated values only: see portal.display)."""
    return {
        "display_classes": display_settings.html_classes(display_settings.from_request(request))
    }
