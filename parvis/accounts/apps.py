from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "parvis.accounts"
    verbose_name = _("Comptes")
    # What a commune's administrator manages in the admin (communes.services).
    commune_admin_permissions = {
        "agent": ("view", "add", "change", "delete"),
        "agentrole": ("view", "add", "change", "delete"),
        "auditentry": ("view",),
        "franceconnectconfig": ("view", "add", "change", "delete"),
    }

    def ready(self):
        # Communes never import accounts (apps depend one way): accounts plugs in here.
        from parvis.accounts.services import audit, give_administrator_role
        from parvis.communes.services import register_administrator_hook, register_audit_writer

        # A new commune and its first administrator are audited here.
        register_audit_writer(audit)
        # A commune's administrator is « administrateur » at its guichet.
        register_administrator_hook(give_administrator_role)

        # Agents' sessions end with the browser, after a working day and when idle.
        from django.contrib.auth.signals import user_logged_in

        from parvis.accounts.middleware import on_login

        user_logged_in.connect(on_login, dispatch_uid="parvis.accounts.agent_session")

        # The login's time and, for a citizen, the one before it in one UPDATE (Django's own
        # receiver writes last_login alone, and log_in wrote previous_login after it).
        from parvis.accounts.services import record_login

        user_logged_in.disconnect(dispatch_uid="update_last_login")
        user_logged_in.connect(record_login, dispatch_uid="parvis.accounts.record_login")
