"""Project scoring settings, agreement and fitted annotator skills."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import principal_of

from assay_scoring.core.agreement import project_agreement
from assay_scoring.core.apis.common import CanReadResults, IsLead, errors
from assay_scoring.core.models import ANSWER_TYPES, CATEGORICAL_METHODS
from assay_scoring.core.selectors import project_settings_get, worker_model_get
from assay_scoring.core.services.projects import project_settings_update
from assay_scoring.core.services.refit import skill_interval


class ProjectSettingsOutput(serializers.Serializer):
    project_id = serializers.UUIDField()
    answer_type = serializers.CharField()
    labels = serializers.JSONField()
    overlap = serializers.IntegerField()
    consensus_method = serializers.CharField()
    consensus_threshold = serializers.FloatField()
    gold_pass_threshold = serializers.FloatField()
    cost_matrix = serializers.JSONField()
    training_mode = serializers.BooleanField()
    multi_choice_metric = serializers.CharField()
    overlap_threshold = serializers.FloatField()
    quorum = serializers.FloatField()
    keypoint_sigmas = serializers.JSONField()
    configured = serializers.BooleanField()
    updated_by = serializers.CharField()
    updated_at = serializers.DateTimeField()


class ProjectSettingsApi(APIView):
    """GET / PATCH a project's scoring settings (qa_lead, admin)."""

    permission_classes = [IsLead]

    class InputSerializer(serializers.Serializer):
        answer_type = serializers.ChoiceField(choices=ANSWER_TYPES, required=False)
        labels = serializers.ListField(child=serializers.CharField(max_length=200), required=False, max_length=1000)
        overlap = serializers.IntegerField(required=False, min_value=1, max_value=100)
        consensus_method = serializers.ChoiceField(choices=CATEGORICAL_METHODS, required=False)
        consensus_threshold = serializers.FloatField(required=False, min_value=0, max_value=1)
        gold_pass_threshold = serializers.FloatField(required=False, min_value=0, max_value=1)
        cost_matrix = serializers.JSONField(required=False)
        training_mode = serializers.BooleanField(required=False)
        multi_choice_metric = serializers.ChoiceField(choices=("jaccard", "f1"), required=False)
        overlap_threshold = serializers.FloatField(required=False, min_value=0.01, max_value=1)
        quorum = serializers.FloatField(required=False, min_value=0.01, max_value=1)
        keypoint_sigmas = serializers.ListField(child=serializers.FloatField(min_value=1e-6), required=False,
                                                max_length=1000)

        def validate(self, attrs):
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({k: ["is not a scoring setting"] for k in unknown})
            return attrs

    @extend_schema(operation_id="scoring_settings_retrieve",
                   responses={200: ProjectSettingsOutput, **errors(_404="not_found: a project scoring does not know")})
    def get(self, request, project_id):
        return Response(ProjectSettingsOutput(project_settings_get(project_id=project_id)).data)

    @extend_schema(operation_id="scoring_settings_update", request=InputSerializer,
                   responses={200: ProjectSettingsOutput, **errors(_400="validation_error, invalid_request (each field named)")})
    def patch(self, request, project_id):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        principal = principal_of(request)
        project = project_settings_update(project_id=project_id, values=body.validated_data,
                                          actor=principal.subject)
        return Response(ProjectSettingsOutput(project).data)


class ProjectAgreementApi(APIView):
    """Krippendorff's alpha, Fleiss' kappa, per class and per annotator pair."""

    permission_classes = [CanReadResults]

    class FilterSerializer(serializers.Serializer):
        min_overlap = serializers.IntegerField(required=False, min_value=1, max_value=100000, default=1)

    class AgreementOutput(serializers.Serializer):
        project_id = serializers.UUIDField()
        answer_type = serializers.CharField()
        n_tasks = serializers.IntegerField()
        n_annotators = serializers.IntegerField()
        n_answers = serializers.IntegerField()
        krippendorff_alpha = serializers.DictField(child=serializers.FloatField(allow_null=True))
        fleiss_kappa = serializers.DictField(child=serializers.FloatField(allow_null=True), allow_null=True)
        per_class = serializers.ListField(child=serializers.DictField())
        pairs = serializers.ListField(child=serializers.DictField())

    @extend_schema(operation_id="agreement_retrieve", parameters=[FilterSerializer], responses={
        200: AgreementOutput, **errors(_400="validation_error", _404="not_found: a project scoring does not know")})
    def get(self, request, project_id):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        body = project_agreement(project_id=project_id, min_overlap=filters.validated_data["min_overlap"])
        body["project_id"] = str(body["project_id"])
        return Response(body)


class AnnotatorSkillsApi(APIView):
    """The project's latest fitted annotator model: skill and confusion per annotator (qa_lead, admin)."""

    permission_classes = [IsLead]

    class SkillsOutput(serializers.Serializer):
        project_id = serializers.UUIDField()
        method = serializers.CharField()
        labels = serializers.ListField(child=serializers.CharField())
        fitted_at = serializers.DateTimeField()
        n_answers = serializers.IntegerField()
        n_tasks = serializers.IntegerField()
        n_gold = serializers.IntegerField()
        class_priors = serializers.ListField(child=serializers.FloatField())
        model_choice = serializers.DictField(help_text="for the default method: the annotator model chosen from "
                                             "the project's answers (model), the criterion, folds and every "
                                             "candidate's held-out log-likelihood per answer (scores)")
        annotators = serializers.ListField(child=serializers.DictField(), help_text="annotator, skill, skill_interval "
                                           "(95 % Beta posterior {low, high, level, method}), confusion, n_answers")

    @extend_schema(operation_id="annotator_skills_retrieve", responses={200: SkillsOutput, **errors(
        _404="not_found: the project's annotator model has not been fitted yet")})
    def get(self, request, project_id):
        model, params = worker_model_get(project_id=project_id)
        return Response({
            "project_id": str(project_id), "method": model.method, "labels": model.labels,
            "fitted_at": serializers.DateTimeField().to_representation(model.fitted_at),
            "n_answers": model.n_answers, "n_tasks": model.n_tasks, "n_gold": model.n_gold,
            "class_priors": model.class_priors, "model_choice": model.model_choice,
            "annotators": [{"annotator": p.annotator, "skill": p.skill,
                            "skill_interval": skill_interval(skill=p.skill, n_answers=p.n_answers),
                            "confusion": p.confusion, "n_answers": p.n_answers} for p in params],
        })
