from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_shared.auth.drf import HasRole, principal_of
from assay_shared.bus.publish import event_emit
from assay_shared.errors import ApplicationError
from assay_shared.urls import common_urlpatterns

from assay_bustest.models import Received


@extend_schema_view(get=extend_schema(exclude=True))
class ReceivedApi(APIView):
    def get(self, request):
        return Response({"results": [r.annotator for r in Received.objects.order_by("id")]})


@extend_schema_view(post=extend_schema(exclude=True))
class EmitApi(APIView):
    permission_classes = [HasRole.of("admin")]

    def post(self, request):
        principal = principal_of(request)
        data = dict(request.data)
        refuse = data.pop("refuse_after_write", None)
        envelope = event_emit(type="annotation.submitted", tenant=principal.tenant, payload=data)
        if refuse:
            raise ApplicationError("refused after the write", fields={"refuse_after_write": [str(refuse)]})
        return Response({"id": envelope.id}, status=201)


urlpatterns = [*common_urlpatterns, path("received", ReceivedApi.as_view()), path("emit", EmitApi.as_view())]
