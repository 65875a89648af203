"""One review item by id, with the answer it checks (the console opens an item without listing the queue)."""
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from assay_review.core import selectors
from assay_review.core.apis import REVIEWERS, ClaimedItemOutput, ReviewItemOutput
from assay_review.core.apis_workflow import refusals


class ReviewItemDetailApi(APIView):
    permission_classes = [REVIEWERS]

    @extend_schema(operation_id="review_item_get", responses={
        200: ClaimedItemOutput, **refusals(_404="no such item in your tenant")})
    def get(self, request, review_id):
        item = selectors.review_item_get(review_id=review_id)
        data = ReviewItemOutput(item).data
        data["answer"] = selectors.review_item_answer(item=item)
        return Response(data)
