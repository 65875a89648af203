"""media: in the chart: the tenants' storage Secret mounted in assignment's web pods only, the links' signing key
from a Secret, and values the schema refuses."""
from __future__ import annotations

import pytest

from .conftest import env_of, generate

MEDIA = {"media": {"existingSecret": "assay-media", "signingKeySecret": {"name": "assay-media-key", "key": "hmac"},
                   "baseUrl": "https://assay.example.com"}}


def _pod(out, name: str) -> dict:
    return out.get("Deployment", name)["spec"]["template"]["spec"]


def test_nothing_is_mounted_by_default(render):
    pod = _pod(render(), "assay-assignment-web")
    assert [v["name"] for v in pod["volumes"]] == ["tmp"]
    assert not {"MEDIA_SIGNING_KEY", "MEDIA_BASE_URL"} & set(env_of(pod["containers"][0]))


def test_the_media_secret_reaches_assignments_web_pods_only(render):
    out = render(MEDIA)
    pod = _pod(out, "assay-assignment-web")
    assert {"name": "media", "secret": {"secretName": "assay-media"}} in pod["volumes"]
    container = pod["containers"][0]
    assert {"name": "media", "mountPath": "/etc/assay/media", "readOnly": True} in container["volumeMounts"]
    env = env_of(container)
    assert env["MEDIA_SIGNING_KEY"]["valueFrom"] == {"secretKeyRef": {"name": "assay-media-key", "key": "hmac"}}
    assert env["MEDIA_BASE_URL"]["value"] == "https://assay.example.com"
    for name in ("assay-assignment-worker", "assay-scoring-web", "assay-review-web"):
        other = _pod(out, name)
        assert [v["name"] for v in other["volumes"]] == ["tmp"], name
        assert "MEDIA_SIGNING_KEY" not in env_of(other["containers"][0]), name


@pytest.mark.parametrize("media", [{"existingSecret": "Not_A_Name"}, {"baseUrl": "ftp://x"}, {"colour": "red"},
                                   {"signingKeySecret": {"name": "k", "key": ""}}])
def test_bad_media_values_are_refused(render, media):
    with pytest.raises(generate.ChartRenderError):
        render({"media": media})
