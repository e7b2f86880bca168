from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from parvis.accounts.models import (
    Agent,
    AgentRole,
    FranceConnectConfig,
    FranceConnectPlatform,
    PlatformAuditEntry,
    User,
)
from parvis.communes.admin import (
    CommuneScopedAdmin,
    CommuneScopedMixin,
    ScopedInline,
    is_operator,
    scoped_commune_id,
)


class OperatorOnlyMixin:
    def has_module_permission(self, request):
        return is_operator(request)

    def has_view_permission(self, request, obj=None):
        return is_operator(request)

    def has_add_permission(self, request, *args):
        return is_operator(request)

    def has_change_permission(self, request, obj=None):
        return is_operator(request)

    def has_delete_permission(self, request, obj=None):
        return is_operator(request)


@admin.register(User)
class UserAdmin(OperatorOnlyMixin, DjangoUserAdmin):
    """Every account, for the operator. Commune administrators manage their agents below."""

    list_display = ["username", "email", "first_name", "last_name", "commune", "is_staff"]
    list_filter = ["commune", "is_staff", "is_superuser", "is_active"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        (_("Commune"), {"fields": ["commune", "civility", "family_code", "must_choose_password"]}),
    ]


class AgentRoleInline(ScopedInline, admin.TabularInline):
    model = AgentRole
    fk_name = "user"
    exclude = ["commune"]
    extra = 0
    min_num = 1
    verbose_name_plural = _("rôles (services sur lesquels l'agent travaille)")


@admin.register(Agent)
class AgentAdmin(CommuneScopedMixin, DjangoUserAdmin):
    """A commune's agents, managed by its administrators: accounts for the guichet with roles.
    They can neither become superusers nor leave the commune: those fields are not on the form."""

    list_display = ["username", "first_name", "last_name", "email", "roles", "is_active"]
    list_filter = ["agent_roles__role", "is_active"]
    search_fields = ["username", "first_name", "last_name", "email"]
    ordering = ["last_name", "first_name"]
    inlines = [AgentRoleInline]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Identité"), {"fields": ["first_name", "last_name", "email", "phone"]}),
        (_("Accès"), {"fields": ["is_active", "last_login"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    *("username", "first_name", "last_name", "email"),
                    *("password1", "password2"),
                ],
            },
        ),
    ]
    readonly_fields = ["last_login"]
    filter_horizontal = []

    def get_queryset(self, request):
        qs = super().get_queryset(request).filter(is_staff=True, is_superuser=False)
        return qs.prefetch_related("agent_roles")

    @admin.display(description=_("rôles"))
    def roles(self, obj):
        return ", ".join(role.get_role_display() for role in obj.agent_roles.all())

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None and is_operator(request):
            fieldsets = [*fieldsets, (_("Commune"), {"fields": ["commune"]})]
        return fieldsets

    def save_model(self, request, obj, form, change):
        obj.is_staff = True
        obj.is_superuser = False
        if not is_operator(request):
            obj.commune_id = request.user.commune_id
        super().save_model(request, obj, form, change)


# The audit log (AuditEntry) is registered by parvis/backoffice/admin.py, in the journal's words.


@admin.register(PlatformAuditEntry)
class PlatformAuditEntryAdmin(OperatorOnlyMixin, admin.ModelAdmin):
    """The platform's journal (what concerns no commune), read-only, for the operator."""

    list_display = ["at", "actor_label", "action", "target_label"]
    search_fields = ["actor_label", "target_label", "action"]
    date_hierarchy = "at"
    fields = readonly_fields = [
        "at", "actor_label", "action", "target_type", "target_id", "target_label", "changes"
    ]  # fmt: skip

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


MASK = "••••••••"


class FranceConnectConfigForm(forms.ModelForm):
    """The client secret is a password field never rendered back; left empty, it stays."""

    client_secret = forms.CharField(
        label=_("clé secrète (client_secret)"),
        required=False,
        max_length=256,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = FranceConnectConfig
        fields = ["enabled", "platform", "client_id", "client_secret"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.client_secret if self.instance.pk else ""
        if current:
            self.fields["client_secret"].help_text = _(
                "Clé actuelle : %(masked)s — laisser vide pour garder la clé actuelle."
            ) % {"masked": MASK + current[-4:]}
        else:
            self.fields["client_secret"].help_text = _(
                "Donnée par FranceConnect avec l'identifiant client."
            )
        if not settings.PARVIS_FRANCECONNECT_DEMO:
            self.fields["platform"].choices = [
                choice
                for choice in self.fields["platform"].choices
                if choice[0] != FranceConnectPlatform.DEMO
            ]

    def clean_client_secret(self):
        value = self.cleaned_data.get("client_secret", "")
        if not value and self.instance.pk:
            return self.instance.client_secret  # kept
        if not value:
            raise forms.ValidationError(_("Saisissez la clé secrète donnée par FranceConnect."))
        return value


@admin.register(FranceConnectConfig)
class FranceConnectConfigAdmin(CommuneScopedAdmin):
    """« S'identifier avec FranceConnect » of a commune: its client, on or off."""

    form = FranceConnectConfigForm
    list_display = ["commune", "enabled", "platform", "client_id", "updated_at"]

    def has_add_permission(self, request, *args):
        # One client per commune: its administrator changes the one that exists (the form,
        # without the commune field, could not say it is taken).
        commune_id = scoped_commune_id(request)
        if commune_id and FranceConnectConfig.objects.filter(commune_id=commune_id).exists():
            return False
        return super().has_add_permission(request, *args)

    def get_fieldsets(self, request, obj=None):
        names = ["enabled", "platform", "client_id", "client_secret"]
        if is_operator(request):
            names = ["commune", *names]
        return [(None, {"fields": names})]
