from django.urls import include, path

from assay_shared.urls import common_urlpatterns

urlpatterns = [
    *common_urlpatterns,
    path("api/v1/", include("assay_assignment.core.urls")),
    path("api/v1/", include("assay_assignment.pipelines.urls")),
]
