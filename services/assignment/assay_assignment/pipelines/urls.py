from django.urls import path

from assay_assignment.pipelines import apis

urlpatterns = [
    path("pipelines", apis.PipelineListCreateApi.as_view(), name="pipelines"),
    path("pipelines/<uuid:pipeline_id>", apis.PipelineDetailApi.as_view(), name="pipeline"),
    path("pipelines/<uuid:pipeline_id>/progress", apis.PipelineProgressApi.as_view(), name="pipeline-progress"),
]
