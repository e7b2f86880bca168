from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from parvis.accounts.models import Agent, AgentRole, User
from parvis.communes.admin import CommuneScopedMixin, ScopedInline, is_operator


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
