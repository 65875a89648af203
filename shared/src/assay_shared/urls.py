"""URL patterns every service mounts: health, readiness, metrics, OpenAPI."""
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from assay_shared.bus.operations_api import operations_urlpatterns
from assay_shared.observability.views import healthz, metrics_view, readyz

common_urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    *operations_urlpatterns,
]
