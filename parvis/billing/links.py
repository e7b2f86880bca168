"""Addresses of billing's pages written into e-mails and PDFs (absolute: read outside the site)."""

from django.urls import reverse

from parvis.mail import absolute_url


def mon_compte_url(commune) -> str:
    """« Mon compte » (the family's invoices and payments) in `commune`."""
    return absolute_url(reverse("billing:mon_compte", kwargs={"commune": commune.slug}))
