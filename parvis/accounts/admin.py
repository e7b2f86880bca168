from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from parvis.accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Accounts are managed by the operator; commune administrators get their own screens when
    agents and roles arrive."""

    list_display = ["username", "email", "first_name", "last_name", "commune", "is_staff"]
    list_filter = ["commune", "is_staff", "is_superuser", "is_active"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        (_("Commune"), {"fields": ["commune"]}),
    ]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser
