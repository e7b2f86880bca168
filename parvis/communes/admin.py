"""Admin for the operator (every commune) and for a commune's administrators (their commune only).

Scoping lives in `CommuneScopedAdmin`: the queryset, the choices of every foreign key and the
commune of a new row all come from the administrator's commune, so another commune's rows can
be neither listed, opened, chosen nor created.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from parvis.communes.models import (
    Actualite,
    ApiParticulierConfig,
    Closure,
    Commune,
    OpeningRange,
    Service,
)
from parvis.communes.services import create_commune_administrator, setup_commune

# The accounts app is above this one (docs/ARCHITECTURE.md): its user model through Django's
# AUTH_USER_MODEL, never an import.
User = get_user_model()


def is_operator(request) -> bool:
    return request.user.is_active and request.user.is_superuser


def administrator_commune_id(request):
    """The commune of the person at the admin; None for the operator's own account, and for
    anyone not logged in (the admin's login page asks every ModelAdmin whether to list it,
    with an anonymous user that has no `commune_id`)."""
    return getattr(request.user, "commune_id", None)


def scoped_commune_id(request):
    return None if is_operator(request) else administrator_commune_id(request)


class CommuneRequiredMixin:
    """Only the operator and a commune's administrators get in: a staff user without a commune
    sees nothing, whatever permissions they keep (an administrator whose commune was removed)."""

    def _has_commune(self, request):
        return is_operator(request) or bool(administrator_commune_id(request))

    def has_module_permission(self, request):
        return self._has_commune(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._has_commune(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return self._has_commune(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self._has_commune(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._has_commune(request) and super().has_delete_permission(request, obj)


class CommuneScopedMixin(CommuneRequiredMixin):
    """For admins and inlines of rows carrying `commune`."""

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if is_operator(request):
            return qs
        commune_id = administrator_commune_id(request)
        return qs.filter(commune_id=commune_id) if commune_id else qs.none()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        commune_id = scoped_commune_id(request)
        if commune_id is not None:
            related = db_field.related_model
            if related is Commune:
                kwargs["queryset"] = Commune.objects.filter(pk=commune_id)
            elif any(f.name == "commune" for f in related._meta.get_fields()):
                kwargs["queryset"] = related._default_manager.filter(commune_id=commune_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CommuneScopedAdmin(CommuneScopedMixin, admin.ModelAdmin):
    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if not is_operator(request):
            exclude.append("commune")
        return exclude

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        return ["commune", *filters] if is_operator(request) else filters

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        commune_id = scoped_commune_id(request)
        if commune_id is not None:
            # The form's validation (unique name or slug per commune, service of the same
            # commune) must see the commune, not only the save.
            class ScopedForm(form):
                def __init__(self, *args, **kw):
                    super().__init__(*args, **kw)
                    self.instance.commune_id = commune_id

                def _get_validation_exclusions(self):
                    # Django skips the constraints on fields outside the form, as `commune` is
                    # here: a duplicate would reach the database (a server error).
                    return super()._get_validation_exclusions() - {"commune"}

            return ScopedForm
        return form

    def save_model(self, request, obj, form, change):
        commune_id = scoped_commune_id(request)
        if commune_id is not None:
            obj.commune_id = commune_id
        super().save_model(request, obj, form, change)


class ScopedInline(CommuneScopedMixin):
    """Inline rows take the commune of their parent."""

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)

        class CommuneFormSet(formset):
            def _construct_form(self, i, **kw):
                form = super()._construct_form(i, **kw)
                # The parent as the formset holds it, not `obj`: on an add page `obj` is None,
                # the parent's commune is known once its own form is validated.
                parent = self.instance
                form.instance.commune_id = (
                    parent.pk if isinstance(parent, Commune) else parent.commune_id
                )
                return form

        return CommuneFormSet


class TownHallRangeInline(ScopedInline, admin.TabularInline):
    model = OpeningRange
    fk_name = "commune"
    exclude = ["service"]
    extra = 0
    verbose_name = _("plage d'ouverture de l'Hôtel de Ville")
    verbose_name_plural = _("horaires de l'Hôtel de Ville")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(service__isnull=True)


class CommuneClosureInline(ScopedInline, admin.TabularInline):
    model = Closure
    fk_name = "commune"
    extra = 0

    def get_exclude(self, request, obj=None):
        # A commune being created has no service yet: any service offered would be another
        # commune's, and Closure.clean() cannot tell before the commune exists.
        return ["service"] if obj is None else super().get_exclude(request, obj)


class ServiceRangeInline(ScopedInline, admin.TabularInline):
    model = OpeningRange
    fk_name = "service"
    exclude = ["commune"]
    extra = 0
    verbose_name_plural = _("horaires propres au service (vide : ceux de l'Hôtel de Ville)")


class HttpsURLField(forms.URLField):
    """A town's website typed without scheme is https (Django 6's default, without the warning)."""

    def __init__(self, **kwargs):
        kwargs["assume_scheme"] = "https"
        super().__init__(**kwargs)


class CommuneForm(forms.ModelForm):
    class Meta:
        model = Commune
        fields = "__all__"  # noqa: DJ007 — the admin's fieldsets choose what is shown
        # Only the widget changes: the model's field keeps its default on the add page (an
        # empty colour input is sent as black) and its validator.
        widgets = {"theme_colour": forms.TextInput(attrs={"type": "color"})}
        field_classes = {"website": HttpsURLField, "accessibility_plan_url": HttpsURLField}


class CommuneCreationForm(CommuneForm):
    """The operator's « Ajouter une commune »: the commune, and optionally its first
    administrator (checked here, so that a refused password comes back next to its field)."""

    admin_username = forms.CharField(
        label=_("identifiant de l'administrateur"),
        max_length=150,
        required=False,
        # The account's own rule, checked here: refused at the save, it was a server error.
        validators=[User.username_validator],
    )
    admin_email = forms.EmailField(label=_("courriel de l'administrateur"), required=False)
    admin_password1 = forms.CharField(
        label=_("mot de passe"),
        required=False,
        strip=False,
        # Not the operator's own password filled in by the browser.
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    admin_password2 = forms.CharField(
        label=_("mot de passe (confirmation)"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        username = cleaned.get("admin_username")
        if not username:
            if "admin_username" not in self.errors and any(
                cleaned.get(name) for name in ("admin_email", "admin_password1", "admin_password2")
            ):
                # An administrator half described is not silently dropped with the commune saved.
                self.add_error("admin_username", _("Indiquez l'identifiant de l'administrateur."))
            return cleaned
        password = cleaned.get("admin_password1")
        if not password:
            self.add_error("admin_password1", _("Choisissez le mot de passe de l'administrateur."))
        elif password != cleaned.get("admin_password2"):
            self.add_error("admin_password2", _("Les deux mots de passe diffèrent."))
        else:
            candidate = User(username=username, email=cleaned.get("admin_email") or "")
            try:
                validate_password(password, candidate)
            except ValidationError as error:
                self.add_error("admin_password1", error)
        if User.objects.filter(username__iexact=username).exists():
            self.add_error("admin_username", _("Cet identifiant est déjà pris."))
        return cleaned

    def administrator(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("admin_username"):
            return None
        return {
            "username": data["admin_username"],
            "email": data.get("admin_email") or "",
            "password": data["admin_password1"],
        }


@admin.register(Commune)
class CommuneAdmin(CommuneRequiredMixin, admin.ModelAdmin):
    form = CommuneForm
    add_form = CommuneCreationForm
    list_display = [
        "name",
        "slug",
        "holiday_zone",
        "login_with_email",
        "login_with_family_code",
        "is_active",
    ]
    search_fields = ["name", "slug"]
    inlines = [TownHallRangeInline, CommuneClosureInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "is_active"]}),
        (_("Hôtel de Ville"), {"fields": ["address", "postal_code", "phone", "email", "website"]}),
        (_("Apparence"), {"fields": ["nom_portail", "logo", "theme_colour"]}),
        (
            _("Fonctionnement"),
            {
                "fields": [
                    "holiday_zone",
                    "login_with_email",
                    "login_with_family_code",
                    "qf_parts_rules",
                ]
            },
        ),
        (
            _("Espace des familles"),
            {
                "fields": [
                    "families_edit_authorised_people",
                    "families_edit_health",
                    "changement_adresse_en_ligne",
                ]
            },
        ),
        (
            _("Pages légales"),
            {
                "fields": [
                    "publication_director",
                    "legal_notice",
                    "terms",
                ]
            },
        ),
        (
            _("Accessibilité"),
            {
                "description": _(
                    "L'état de conformité affiché en bas de chaque page et dans la déclaration "
                    "d'accessibilité se calcule : sans audit, « non conforme » (l'auto-évaluation "
                    "de Parvis est donnée pour information) ; avec l'audit de la commune, selon "
                    "son taux."
                ),
                "fields": [
                    "accessibility_status_display",
                    "accessibility_audit_date",
                    "accessibility_auditor",
                    "accessibility_audit_rate",
                    "accessibility_statement_date",
                    "accessibility_plan_url",
                ],
            },
        ),
    ]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if is_operator(request):
            return qs
        commune_id = administrator_commune_id(request)
        return qs.filter(pk=commune_id) if commune_id else qs.none()

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            fields = ["admin_username", "admin_email", "admin_password1", "admin_password2"]
            fieldsets = [*fieldsets, (_("Premier administrateur (facultatif)"), {"fields": fields})]
        return fieldsets

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            # Its services and procedures, then its administrator: one transaction with the
            # commune (the admin's change view is atomic).
            setup_commune(commune=obj, actor=request.user)
            if administrator := form.administrator():
                create_commune_administrator(commune=obj, actor=request.user, **administrator)

    def get_readonly_fields(self, request, obj=None):
        # Only the operator moves a commune to another address or takes it off line.
        computed = ["accessibility_status_display"]
        return computed if is_operator(request) else ["slug", "is_active", *computed]

    @admin.display(description=_("état de conformité RGAA"))
    def accessibility_status_display(self, obj):
        return obj.accessibility_status.label

    def has_add_permission(self, request):
        return is_operator(request)

    def has_delete_permission(self, request, obj=None):
        return is_operator(request)


@admin.register(Service)
class ServiceAdmin(CommuneScopedAdmin):
    list_display = ["name", "phone", "email", "position"]
    search_fields = ["name"]
    inlines = [ServiceRangeInline]


@admin.register(Closure)
class ClosureAdmin(CommuneScopedAdmin):
    list_display = ["reason", "start", "end", "service"]
    date_hierarchy = "start"


@admin.register(Actualite)
class ActualiteAdmin(CommuneScopedAdmin):
    list_display = ["title", "published_at", "expires_at"]
    search_fields = ["title", "body"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["title"]}


# --- API Particulier (issue 20 §2) ----------------------------------------------------------------

TOKEN_MASK = "••••••••"  # noqa: S105 (what a masked token shows)


class ApiParticulierConfigForm(forms.ModelForm):
    """The token is a password field never rendered back; left empty, the current one stays."""

    token = forms.CharField(
        label=_("jeton d'API Particulier"),
        required=False,
        max_length=512,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = ApiParticulierConfig
        fields = ["enabled", "token", "recipient"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.token if self.instance.pk else ""
        self.fields["token"].help_text = (
            _("Jeton actuel : %(masked)s — laisser vide pour garder le jeton actuel.")
            % {"masked": TOKEN_MASK + current[-4:]}
            if current
            else _("Le jeton remis par API Particulier à la commune (habilitation accordée).")
        )

    def clean_token(self):
        value = self.cleaned_data.get("token", "")
        if not value and self.instance.pk:
            return self.instance.token  # kept
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("enabled") and not cleaned.get("token"):
            self.add_error("token", _("Saisissez le jeton pour proposer le service aux familles."))
        return cleaned


@admin.register(ApiParticulierConfig)
class ApiParticulierConfigAdmin(CommuneScopedAdmin):
    form = ApiParticulierConfigForm
    list_display = ["commune", "enabled", "updated_at"]
    fieldsets = [(None, {"fields": ["enabled", "token", "recipient"]})]

    def get_fieldsets(self, request, obj=None):
        if is_operator(request):
            return [(None, {"fields": ["commune", "enabled", "token", "recipient"]})]
        return super().get_fieldsets(request, obj)
