"""An URL configuration without any page of the portal (test_navigation_cache)."""

urlpatterns = []
