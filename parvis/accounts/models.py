from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person who logs in: the operator (no commune), a commune's agent or administrator, and
    later its citizens. Accounts belong to one commune and nothing crosses communes; `username`
    is the unique technical login, the personal-space issue adds e-mail / code famille login."""

    commune = models.ForeignKey(
        "communes.Commune",
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        help_text=_("Vide pour l'opérateur de la plateforme, qui voit toutes les communes."),
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")

    @property
    def is_operator(self) -> bool:
        return self.is_active and self.is_superuser
