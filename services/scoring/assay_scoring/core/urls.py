from django.urls import path

from assay_scoring.core.apis.gold import GoldAnswerDetailApi, GoldAnswerImportApi, GoldAnswerListApi
from assay_scoring.core.apis.migrations import SchemaMigrationsApi
from assay_scoring.core.apis.projects import AnnotatorSkillsApi, ProjectAgreementApi, ProjectSettingsApi
from assay_scoring.core.apis.results import ConsensusDetailApi, ConsensusListApi, GoldScoreListApi, MyGoldScoresApi

urlpatterns = [
    path("gold-answers", GoldAnswerListApi.as_view(), name="gold-answers"),
    path("gold-answers/import", GoldAnswerImportApi.as_view(), name="gold-answers-import"),
    path("gold-answers/<uuid:task_id>", GoldAnswerDetailApi.as_view(), name="gold-answer"),
    path("gold-scores", GoldScoreListApi.as_view(), name="gold-scores"),
    path("me/gold-scores", MyGoldScoresApi.as_view(), name="my-gold-scores"),
    path("consensus", ConsensusListApi.as_view(), name="consensus-list"),
    path("consensus/<uuid:task_id>", ConsensusDetailApi.as_view(), name="consensus"),
    path("projects/<uuid:project_id>/scoring-settings", ProjectSettingsApi.as_view(), name="project-settings"),
    path("projects/<uuid:project_id>/agreement", ProjectAgreementApi.as_view(), name="project-agreement"),
    path("projects/<uuid:project_id>/annotator-skills", AnnotatorSkillsApi.as_view(), name="annotator-skills"),
    path("projects/<uuid:project_id>/schema-migrations", SchemaMigrationsApi.as_view(), name="schema-migrations"),
]
