from django.urls import path

from assay_metrics.core.apis import AnnotatorStatsListApi

urlpatterns = [
    path("annotator-stats", AnnotatorStatsListApi.as_view(), name="annotator-stats"),
]
