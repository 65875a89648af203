from django.conf import settings
from django.contrib.staticfiles.views import serve
from django.urls import path, re_path

from assay_console.views import auth, gold, operations, projects, review, sampling, webhooks, work, workforce


def static(request, path):
    return serve(request, path, insecure=True)


urlpatterns = [
    path("", auth.home, name="home"),
    path("healthz", auth.healthz, name="healthz"),
    path("signin", auth.signin, name="signin"),
    path("signin/<str:code>", auth.signin_link, name="signin-link"),
    path("signout", auth.signout, name="signout"),
    path("projects", projects.project_list, name="projects"),
    path("projects/new", projects.project_create, name="project-new"),
    path("projects/<uuid:project_id>", projects.project_detail, name="project"),
    path("projects/<uuid:project_id>/sampling", sampling.sampling, name="sampling"),
    path("workforce", workforce.workforce, name="workforce"),
    path("workforce.csv", workforce.workforce_csv, name="workforce-csv"),
    path("workforce/<str:name>", workforce.annotator, name="annotator"),
    path("work", work.work, name="work"),
    path("operations", operations.operations, name="operations"),
    path("operations/dead-letters/replay", operations.replay, name="operations-replay"),
    path("gold", gold.gold, name="gold"),
    path("gold/<uuid:task_id>", gold.gold_answer, name="gold-answer"),
    path("webhooks", webhooks.webhooks, name="webhooks"),
    path("webhooks/deliveries/<uuid:delivery_id>", webhooks.delivery, name="delivery"),
    path("review", review.queue, name="review"),
    path("review/claim", review.claim, name="review-claim"),
    path("review/<uuid:review_id>", review.item, name="review-item"),
    re_path(r"^static/(?P<path>.+)$", static),
]

if settings.CONSOLE.oidc is not None:
    from mozilla_django_oidc.views import OIDCAuthenticationRequestView

    from assay_console.oidc import CallbackView

    urlpatterns += [
        path("oidc/authenticate/", OIDCAuthenticationRequestView.as_view(), name="oidc_authentication_init"),
        path("oidc/callback/", CallbackView.as_view(), name="oidc_authentication_callback"),
    ]
