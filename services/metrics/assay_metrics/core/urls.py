from django.urls import path

from assay_metrics.core import apis, apis_rules

urlpatterns = [
    path("annotator-stats", apis.AnnotatorStatsListApi.as_view(), name="annotator-stats"),
    path("annotators", apis.AnnotatorMetricsListApi.as_view(), name="annotators"),
    path("annotators/<str:annotator>", apis.AnnotatorMetricsDetailApi.as_view(), name="annotator"),
    path("annotator-daily", apis.AnnotatorDailyListApi.as_view(), name="annotator-daily"),
    path("annotators/<str:annotator>/suspend", apis.AnnotatorSuspendApi.as_view(), name="annotator-suspend"),
    path("annotators/<str:annotator>/reinstate", apis.AnnotatorReinstateApi.as_view(), name="annotator-reinstate"),
    path("annotators/<str:annotator>/qualify", apis.AnnotatorQualifyApi.as_view(), name="annotator-qualify"),
    path("object-agreement", apis.ObjectAgreementApi.as_view(), name="object-agreement"),
    path("standings", apis.StandingListApi.as_view(), name="standings"),
    path("standing-changes", apis.StandingChangeListApi.as_view(), name="standing-changes"),
    path("quality-rules", apis_rules.QualityRuleListApi.as_view(), name="quality-rules"),
    path("quality-rules/<uuid:rule_id>", apis_rules.QualityRuleDetailApi.as_view(), name="quality-rule"),
]
