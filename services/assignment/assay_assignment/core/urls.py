from django.urls import path

from assay_assignment.core.apis import admin, answers, intake, work

urlpatterns = [
    path("projects", admin.ProjectListCreateApi.as_view(), name="projects"),
    path("projects/<uuid:project_id>", admin.ProjectDetailApi.as_view(), name="project"),
    path("projects/<uuid:project_id>/schemas", admin.SchemaListCreateApi.as_view(), name="schemas"),
    path("projects/<uuid:project_id>/schemas/<int:version>", admin.SchemaDetailApi.as_view(), name="schema"),
    path("projects/<uuid:project_id>/batches", admin.BatchListImportApi.as_view(), name="batches"),
    path("projects/<uuid:project_id>/batches/open", intake.BatchOpenApi.as_view(), name="batch-open"),
    path("projects/<uuid:project_id>/batches/<uuid:batch_id>/close", intake.BatchCloseApi.as_view(), name="batch-close"),
    path("projects/<uuid:project_id>/imports", intake.ImportStreamApi.as_view(), name="imports"),
    path("projects/<uuid:project_id>/imports/<uuid:import_id>", intake.ImportDetailApi.as_view(), name="import"),
    path("projects/<uuid:project_id>/intake", intake.IntakeApi.as_view(), name="intake"),
    path("media/<str:token>", intake.MediaApi.as_view(), name="media"),
    path("projects/<uuid:project_id>/tasks", admin.TaskCreateApi.as_view(), name="tasks"),
    path("projects/<uuid:project_id>/progress", admin.ProgressApi.as_view(), name="progress"),
    path("projects/<uuid:project_id>/leases", admin.LeasesApi.as_view(), name="leases"),
    path("projects/<uuid:project_id>/next", work.NextTaskApi.as_view(), name="next"),
    path("tasks/<uuid:task_id>", admin.TaskDetailApi.as_view(), name="task"),
    path("tasks/<uuid:task_id>/answers", answers.TaskAnswersApi.as_view(), name="task-answers"),
    path("tasks/<uuid:task_id>/submit", work.SubmitApi.as_view(), name="submit"),
    path("tasks/<uuid:task_id>/heartbeat", work.HeartbeatApi.as_view(), name="heartbeat"),
    path("tasks/<uuid:task_id>/release", work.ReleaseApi.as_view(), name="release"),
    path("tasks/<uuid:task_id>/skip", work.SkipApi.as_view(), name="skip"),
    path("annotators/<str:annotator>/skills", admin.AnnotatorSkillsApi.as_view(), name="annotator-skills"),
]
