"""{% load parvis_dates %} — `{{ day|long_date }}`, `{{ day|long_date:"l j F Y" }}`: a long date
with « 1er » for the first of a month in French (parvis.communes.dates)."""

from django import template

from parvis.communes.dates import LONG
from parvis.communes.dates import long_date as _long_date

register = template.Library()


@register.filter(expects_localtime=True)
def long_date(value, fmt=LONG):
    return _long_date(value, fmt)
