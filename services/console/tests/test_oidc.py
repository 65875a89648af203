"""Production sign-in: OpenID Connect through mozilla-django-oidc, against a provider run by the test."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from assay_shared.stack.console import console_unit, signin_code_create
from assay_shared.stack.processes import free_port, units_stop
from tests.conftest import eventually
from tests.oidc_provider import Provider

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def oidc_console(stack):
    provider = Provider(client_id="assay-console", client_secret="s3cret",
                        claims={"sub": "lead-oidc", "tenant": "acme", "roles": ["qa_lead", "service"],
                                "name": "Lea Lead"})
    env = {k: v for k, v in stack.console.env.items() if k != "CONSOLE_LOCAL_SIGNIN"}
    console = console_unit(env={**env, **provider.env()}, port=free_port(), log_dir=stack.log_dir)
    console.name = "console-oidc"
    console.spawn()
    try:
        eventually(console.healthy, until=bool, timeout=60, what="the OIDC console")
        yield console, provider
    finally:
        units_stop([console])
        provider.close()


def test_sign_in_with_the_organisations_provider(oidc_console, stack, browser, shot):
    console, provider = oidc_console
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{console.url}/projects")
    assert page.url.startswith(f"{console.url}/signin")
    # when the person signs in at the provider
    page.get_by_role("link", name="Sign in with your organisation").click()
    # then they are back in the console as the provider's subject, with the provider's tenant and Assay roles
    expect(page.get_by_test_id("who")).to_have_text("Lea Lead · acme · qa_lead")
    assert provider.token_requests == 1
    # and the services answer for them with their roles
    assert page.goto(f"{console.url}/projects").status == 200
    shot(page, "signed-in-by-oidc")
    # and one-time links are off when a provider is configured
    code = signin_code_create(client=stack.redis, prefix=stack.prefix, tenant="acme", subject="x", roles=("admin",))
    assert page.goto(f"{console.url}/signin/{code}").status == 403
    context.close()


def test_a_refusal_at_the_provider_signs_nobody_in(oidc_console, browser):
    console, _ = oidc_console
    page = browser.new_context().new_page()
    page.goto(f"{console.url}/oidc/callback/?error=access_denied&state=x")
    assert page.url.startswith(f"{console.url}/signin")
    expect(page.locator(".banner.error")).to_contain_text("Sign-in failed")
    page.goto(f"{console.url}/oidc/callback/?code=forged&state=never-issued")
    assert page.goto(f"{console.url}/projects").url.startswith(f"{console.url}/signin")
