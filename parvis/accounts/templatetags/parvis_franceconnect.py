"""« S'identifier avec FranceConnect » on the login and sign-up pages, when the commune offers it:
{% load parvis_franceconnect %}{% franceconnect_button %}."""

from urllib.parse import urlencode

from django import template

from parvis.accounts.views_franceconnect import button_url

register = template.Library()


@register.inclusion_tag("accounts/franceconnect/_bouton.html", takes_context=True)
def franceconnect_button(context):
    commune = context.get("commune")
    url = button_url(commune) if commune is not None else None
    next_url = context.get("next_url")
    if url and next_url:
        url = f"{url}?{urlencode({'next': next_url})}"
    return {"franceconnect_url": url}
