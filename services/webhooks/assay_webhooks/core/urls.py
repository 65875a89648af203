from django.urls import path

from assay_webhooks.core.apis.deliveries import (
    DeliveriesRedeliverFailedApi,
    DeliveryDetailApi,
    DeliveryListApi,
    DeliveryRedeliverApi,
)
from assay_webhooks.core.apis.endpoints import (
    EndpointDetailApi,
    EndpointListApi,
    EndpointPingApi,
    EndpointRotateSecretApi,
)

urlpatterns = [
    path("endpoints", EndpointListApi.as_view(), name="endpoints"),
    path("endpoints/<uuid:endpoint_id>", EndpointDetailApi.as_view(), name="endpoint"),
    path("endpoints/<uuid:endpoint_id>/rotate-secret", EndpointRotateSecretApi.as_view(), name="endpoint-rotate"),
    path("endpoints/<uuid:endpoint_id>/ping", EndpointPingApi.as_view(), name="endpoint-ping"),
    path("deliveries", DeliveryListApi.as_view(), name="deliveries"),
    path("deliveries/redeliver-failed", DeliveriesRedeliverFailedApi.as_view(), name="deliveries-redeliver"),
    path("deliveries/<uuid:delivery_id>", DeliveryDetailApi.as_view(), name="delivery"),
    path("deliveries/<uuid:delivery_id>/redeliver", DeliveryRedeliverApi.as_view(), name="delivery-redeliver"),
]
