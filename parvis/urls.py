from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from parvis.accounts import urls as accounts_urls
from parvis.accounts.forms_auth import AdminLoginForm
from parvis.communes.admin_shortcut import scoped_shortcut
from parvis.families import views_espace, views_signup
from parvis.rgpd import views as rgpd_views

admin.site.site_header = _("Parvis — administration")
admin.site.site_title = _("Parvis")
admin.site.index_title = _("Administration")
admin.site.login_form = AdminLoginForm  # throttled like the guichet's door

# The citizen's account pages share one namespace, « accounts »: the sign-up and « Mon espace »
# (parvis.families: they are built around the household), the login doors (parvis.accounts) and
# « Télécharger mes données » (parvis.rgpd).
ACCOUNT_PAGES = (
    [
        *views_signup.urlpatterns,
        *accounts_urls.urlpatterns,
        *views_espace.urlpatterns,
        *rgpd_views.account_urlpatterns,  # « Télécharger mes données »
    ],
    "accounts",
)

urlpatterns = [
    path("admin/r/<int:content_type_id>/<path:object_id>/", scoped_shortcut),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("parvis.portal.urls")),
    path("<slug:commune>/", include(ACCOUNT_PAGES)),
    path("<slug:commune>/", include("parvis.families.urls")),
    path("<slug:commune>/mon-espace/inscriptions/", include("parvis.demarches.urls_inscriptions")),
    path("<slug:commune>/mon-espace/factures/", include("parvis.billing.urls")),
    path("<slug:commune>/mon-espace/", include("parvis.activities.urls")),
    path("<slug:commune>/paiement/", include("parvis.payments.urls")),
    path("<slug:commune>/guichet/activites/", include("parvis.activities.guichet.urls")),
    path("<slug:commune>/guichet/regie/", include("parvis.payments.guichet.urls")),
    path("<slug:commune>/guichet/donnees-personnelles/", include("parvis.rgpd.guichet.urls")),
    path("<slug:commune>/guichet/", include("parvis.backoffice.urls")),
    path("<slug:commune>/demarches/", include("parvis.demarches.urls")),
]

handler404 = "parvis.portal.views.page_not_found"
