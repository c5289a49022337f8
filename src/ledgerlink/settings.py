"""Settings from the environment. With nothing set, LedgerLink runs embedded: SQLite and SqliteHuey
in a local data folder. DATABASE_URL and REDIS_URL switch to the distributed mode; nothing else changes.

LEDGERLINK_MODE is production unless `ledgerlink demo` or the test suite says otherwise: production refuses
to start without its own secrets (deployment.py), and an https LEDGERLINK_PUBLIC_URL turns on HTTPS
hardening (HSTS, SSL redirect, Secure cookies, the proxy's X-Forwarded-Proto)."""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from ledgerlink import deployment

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("LEDGERLINK_DATA_DIR", Path.cwd() / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


try:
    LEDGERLINK_MODE = deployment.mode(os.environ)
    _secrets = deployment.secrets_for(os.environ, LEDGERLINK_MODE, DATA_DIR)
except deployment.MissingSecrets as exc:
    raise ImproperlyConfigured(str(exc)) from None

DEBUG = env_bool("LEDGERLINK_DEBUG", False)
SECRET_KEY = _secrets.secret_key
# Token encryption: Fernet keys, newest first (MultiFernet); see crypto.py for rotation.
LEDGERLINK_SECRET_KEYS = _secrets.fernet_keys
PUBLIC_URL = os.environ.get("LEDGERLINK_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
_public = urlsplit(PUBLIC_URL)
ALLOWED_HOSTS = env_list("LEDGERLINK_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
if _public.hostname and _public.hostname not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(_public.hostname)
CSRF_TRUSTED_ORIGINS = env_list("LEDGERLINK_CSRF_TRUSTED_ORIGINS")
if _public.scheme == "https":
    CSRF_TRUSTED_ORIGINS.append(f"https://{_public.netloc}")
    # TLS ends at the proxy in front of gunicorn, which says so in X-Forwarded-Proto (and must strip a
    # client's own copy of that header).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^api/v1/health$"]  # load balancers probe over plain HTTP
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("LEDGERLINK_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("LEDGERLINK_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("LEDGERLINK_HSTS_PRELOAD", True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",  # its static Swagger UI, so /api/v1/docs needs no CDN
    "huey.contrib.djhuey",
    "ledgerlink.cashflow",
    "ledgerlink.ledgers",
    "ledgerlink.sync",
    "ledgerlink.billing",
    "ledgerlink.notices",
    "ledgerlink.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "ledgerlink.headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "ledgerlink.billing.middleware.UsageMeteringMiddleware",
]

ROOT_URLCONF = "ledgerlink.urls"
WSGI_APPLICATION = "ledgerlink.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ledgerlink.web.context.attention",
                "ledgerlink.headers.csp_nonce",
            ]
        },
    }
]


def _database() -> dict:
    url = os.environ.get("DATABASE_URL")
    if url:
        return dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    # Embedded mode: WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN,
    # so two writers queue on the busy timeout instead of failing with "database is locked" mid-transaction.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("LEDGERLINK_SQLITE_PATH", str(DATA_DIR / "ledgerlink.sqlite3")),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            # temp_store: a statement's undo journal in memory, not a temporary file written per UPDATE.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                "PRAGMA temp_store=MEMORY;"
            ),
        },
        "TEST": {"NAME": os.environ.get("LEDGERLINK_SQLITE_TEST_PATH") or None},
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
HUEY_IMMEDIATE = env_bool("LEDGERLINK_HUEY_IMMEDIATE", False)
# How long a sync worker's claim on records lasts before another worker may take them over (sync/leases.py).
LEDGERLINK_SYNC_LEASE_S = float(os.environ.get("LEDGERLINK_SYNC_LEASE_S", "120"))
# Ledger seconds per real second for the sync rate limiter (sync/ratelimit.py): 1 against a real ledger.
LEDGERLINK_SYNC_TIME_SCALE = float(os.environ.get("LEDGERLINK_SYNC_TIME_SCALE", "1"))
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": os.environ.get("LEDGERLINK_HUEY_NAME", "ledgerlink"),
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": int(os.environ.get("LEDGERLINK_WORKERS", "4")), "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "ledgerlink",
        "filename": os.environ.get("LEDGERLINK_HUEY_PATH", str(DATA_DIR / "huey.sqlite3")),
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": int(os.environ.get("LEDGERLINK_WORKERS", "2")), "worker_type": "thread"},
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# Every sign-in (ours and the admin's) goes through the throttle: per account and address, in the database.
AUTHENTICATION_BACKENDS = ["ledgerlink.cashflow.signin.ThrottledBackend"]
# How many proxies in front of us append to X-Forwarded-For (0: clients connect directly).
SIGNIN_TRUSTED_PROXIES = int(os.environ.get("LEDGERLINK_TRUSTED_PROXIES", "0"))
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every start about a missing one
# Serve the installed apps' static files straight from their packages: a fresh install needs no collectstatic.
WHITENOISE_USE_FINDERS = True

EMAIL_BACKEND = os.environ.get("LEDGERLINK_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("LEDGERLINK_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("LEDGERLINK_SMTP_PORT", "8025"))
DEFAULT_FROM_EMAIL = os.environ.get("LEDGERLINK_FROM_EMAIL", "LedgerLink <noreply@ledgerlink.local>")

# Ledger endpoints: the real hosts by default; the demo and tests point them at the sandboxes.
XERO_CLIENT_ID = os.environ.get("XERO_CLIENT_ID", "")
XERO_CLIENT_SECRET = os.environ.get("XERO_CLIENT_SECRET", "")
XERO_AUTHORIZE_URL = os.environ.get("XERO_AUTHORIZE_URL", "https://login.xero.com/identity/connect/authorize")
XERO_IDENTITY_URL = os.environ.get("XERO_IDENTITY_URL", "https://identity.xero.com")
XERO_API_URL = os.environ.get("XERO_API_URL", "https://api.xero.com")
XERO_WEB_URL = os.environ.get("XERO_WEB_URL", "https://go.xero.com")  # deep links into Xero's own pages
QBO_CLIENT_ID = os.environ.get("QBO_CLIENT_ID", "")
QBO_CLIENT_SECRET = os.environ.get("QBO_CLIENT_SECRET", "")
QBO_AUTHORIZE_URL = os.environ.get("QBO_AUTHORIZE_URL", "https://appcenter.intuit.com/connect/oauth2")
QBO_TOKEN_URL = os.environ.get("QBO_TOKEN_URL", "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer")
QBO_REVOKE_URL = os.environ.get("QBO_REVOKE_URL", "https://developer.api.intuit.com/v2/oauth2/tokens/revoke")
QBO_API_URL = os.environ.get("QBO_API_URL", "https://quickbooks.api.intuit.com")
QBO_WEB_URL = os.environ.get("QBO_WEB_URL", "https://app.qbo.intuit.com")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_query": {"()": "ledgerlink.logfilters.DropQueryStrings"}},
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "django.server": {"level": "INFO", "class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LEDGERLINK_LOG_LEVEL", "WARNING")},
    # Django's own django.server set-up, plus the filter: runserver's request lines would carry the OAuth
    # callback's one-time code (django.request logs only the path; gunicorn leaves the query out).
    "loggers": {
        "django.server": {
            "handlers": ["django.server"],
            "filters": ["no_query"],
            "level": "INFO",
            "propagate": False,
        }
    },
}
