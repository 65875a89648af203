from django.urls import path

from assay_review.core import apis, apis_batches, apis_items, apis_predictions, apis_suppliers, apis_workflow

urlpatterns = [
    path("sampling-policies", apis.SamplingPolicyListApi.as_view(), name="sampling-policies"),
    path("projects/<uuid:project_id>/sampling-policy", apis.SamplingPolicyApi.as_view(), name="sampling-policy"),
    path("sampling-decisions", apis.SamplingDecisionListApi.as_view(), name="sampling-decisions"),
    path("sampling-rates", apis.SamplingRatesApi.as_view(), name="sampling-rates"),
    path("review-items", apis.ReviewItemListApi.as_view(), name="review-items"),
    path("review-items/claim", apis.ReviewItemClaimApi.as_view(), name="review-item-claim"),
    path("review-items/<uuid:review_id>", apis_items.ReviewItemDetailApi.as_view(), name="review-item"),
    path("review-items/<uuid:review_id>/decision", apis.ReviewItemDecideApi.as_view(), name="review-item-decide"),
    path("batches/<str:batch_id>/inspections", apis_batches.BatchInspectionCreateApi.as_view(), name="batch-inspections"),
    path("inspections/<uuid:inspection_id>", apis.InspectionDetailApi.as_view(), name="inspection"),
    path("suppliers", apis_suppliers.SupplierListApi.as_view(), name="suppliers"),
    path("suppliers/<str:supplier>", apis_suppliers.SupplierDetailApi.as_view(), name="supplier"),
    path("suppliers/<str:supplier>/approval", apis_suppliers.SupplierApprovalApi.as_view(), name="supplier-approval"),
    path("suppliers/<str:supplier>/resume", apis_suppliers.SupplierResumeApi.as_view(), name="supplier-resume"),
    path("reviewers/<str:subject>/skills", apis_workflow.ReviewerSkillsApi.as_view(), name="reviewer-skills"),
    path("projects/<uuid:project_id>/review-stages", apis_workflow.ReviewWorkflowApi.as_view(), name="review-stages"),
    path("projects/<uuid:project_id>/predictions", apis_predictions.PredictionApi.as_view(), name="predictions"),
    path("projects/<uuid:project_id>/predictions/bulk", apis_predictions.PredictionBulkApi.as_view(),
         name="predictions-bulk"),
    path("projects/<uuid:project_id>/label-issues", apis_predictions.LabelIssuesApi.as_view(), name="label-issues"),
    path("feedback", apis_predictions.FeedbackApi.as_view(), name="feedback"),
    path("final-labels", apis_workflow.FinalLabelListApi.as_view(), name="final-labels"),
    path("exports", apis_workflow.ExportApi.as_view(), name="exports"),
    path("exports/signed", apis_workflow.ExportLinkApi.as_view(), name="exports-signed"),
]
