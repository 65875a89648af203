"""A media link is any text in a URL: one that is not ASCII is refused like any altered link, never a 500 (found
by the contract fuzzer, tests/contracts)."""
import pytest

from assay_assignment.core.services.media import link_read

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("token", ["é.é", "abc.é", "é.abc", "\x08.\u00be\U0010ffff"])
def test_a_link_that_is_not_ascii_reads_as_no_link(token):
    assert link_read(token) is None


def test_a_link_that_is_not_ascii_is_a_403_in_the_error_shape(client):
    response = client.get("/api/v1/media/%F2%AB%8A%BE%08.%C2%BE%08R%C2%95")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "media_link_invalid"
