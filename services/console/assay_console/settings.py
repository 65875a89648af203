"""Settings of the console: everything from the environment (assay_console.config). It keeps no database:
sessions live in Redis, every page's data comes from the services' APIs."""
import sys
from pathlib import Path

from assay_shared.config import ConfigError
from assay_shared.observability.logging import logging_config

from assay_console.config import load_console_config

try:
    CONSOLE = load_console_config()
except ConfigError as exc:
    print(f"assay-console: configuration error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None

BASE = Path(__file__).resolve().parent
SECRET_KEY = CONSOLE.secret_key
DEBUG = CONSOLE.debug
ALLOWED_HOSTS = ["*"]
ASSAY_SERVICE = "console"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",  # mozilla-django-oidc's backend needs the app; no user rows are ever stored
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "django_htmx",
    "assay_console",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "assay_console.middleware.PersonMiddleware",
]
ROOT_URLCONF = "assay_console.urls"
DATABASES: dict = {}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CONSOLE.redis_url,
                      "KEY_PREFIX": f"{CONSOLE.prefix}:console"}}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
SESSION_COOKIE_NAME = "assay_console_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CONSOLE.secure_cookies
SESSION_COOKIE_AGE = 8 * 3600
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SECURE = CONSOLE.secure_cookies
CSRF_FAILURE_VIEW = "assay_console.views.errors.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "https:", "http:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                       "assay_console.middleware.person_context"]},
}]
STATIC_URL = "/static/"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING = logging_config(service="console", level=CONSOLE.log_level)
LOGIN_URL = "/signin"
AUTHENTICATION_BACKENDS = ["assay_console.oidc.ClaimsBackend"]
if CONSOLE.oidc is not None:
    OIDC_RP_CLIENT_ID = CONSOLE.oidc.client_id
    OIDC_RP_CLIENT_SECRET = CONSOLE.oidc.client_secret
    OIDC_OP_AUTHORIZATION_ENDPOINT = CONSOLE.oidc.authorization_endpoint
    OIDC_OP_TOKEN_ENDPOINT = CONSOLE.oidc.token_endpoint
    OIDC_OP_USER_ENDPOINT = CONSOLE.oidc.user_endpoint
    OIDC_OP_JWKS_ENDPOINT = CONSOLE.oidc.jwks_endpoint
    OIDC_RP_SIGN_ALGO = CONSOLE.oidc.sign_algo
    OIDC_RP_SCOPES = "openid email profile"
    LOGIN_REDIRECT_URL = "/"
    LOGIN_REDIRECT_URL_FAILURE = "/signin?failed=1"
