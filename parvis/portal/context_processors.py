from parvis.portal.navigation import navigation


def portal(request):
    commune = getattr(request, "commune", None)
    match = getattr(request, "resolver_match", None)
    current = f"{match.namespace}:{match.url_name}" if match and match.namespace else ""
    return {
        "nav_entries": navigation(commune.slug) if commune else [],
        "current_url_name": current,
    }
