"""Production settings, as an operator meets them: the service refuses to start without its own secrets,
published fallbacks are flagged, an https public URL turns on the hardening that `check --deploy` asks for,
the demo keeps generated secrets, and gunicorn's access log holds neither API keys nor OAuth codes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from ledgerlink import deployment
from ledgerlink.devtools.ports import free_port

SECRET_KEY = "x7Kq2pL9vR4mN8tW1zY6cB3fH5jD0sG-aE_uI7oP2lK9nM4bV1cX6zQ8wR3tY5"


def _ledgerlink(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("LEDGERLINK_", "DJANGO_SECRET", "DATABASE"))
    }
    base.update(LEDGERLINK_DATA_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-m", "ledgerlink", *args], env=base, capture_output=True, text=True, timeout=60
    )


def _production(**extra: str) -> dict[str, str]:
    return {
        "LEDGERLINK_MODE": "production",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "LEDGERLINK_SECRET_KEYS": Fernet.generate_key().decode(),
        **extra,
    }


def test_production_refuses_to_start_without_its_secrets_and_names_them(tmp_path):
    result = _ledgerlink(["check"], tmp_path)  # no LEDGERLINK_MODE: production is the default
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "production mode" in result.stderr
    assert "DJANGO_SECRET_KEY and LEDGERLINK_SECRET_KEYS are not set" in result.stderr
    only_one = _ledgerlink(["check"], tmp_path, DJANGO_SECRET_KEY=SECRET_KEY)
    assert only_one.returncode != 0 and "LEDGERLINK_SECRET_KEYS is not set" in only_one.stderr
    assert not (tmp_path / deployment.SECRETS_FILE).exists()  # nothing was made up


def test_check_deploy_is_clean_in_production_behind_https(tmp_path):
    result = _ledgerlink(
        ["check", "--deploy", "--fail-level", "WARNING"],
        tmp_path,
        **_production(LEDGERLINK_PUBLIC_URL="https://books.example.com"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_about_a_plain_http_public_url(tmp_path):
    result = _ledgerlink(
        ["check", "--deploy"], tmp_path, **_production(LEDGERLINK_PUBLIC_URL="http://books.example.com")
    )
    assert "ledgerlink.W001" in result.stderr + result.stdout
    assert "security.W004" in result.stderr + result.stdout  # no HSTS without https


@pytest.mark.parametrize(
    ("variable", "published", "error"),
    [
        ("DJANGO_SECRET_KEY", next(iter(deployment.PUBLISHED_SECRET_KEYS)), "ledgerlink.E001"),
        ("LEDGERLINK_SECRET_KEYS", next(iter(deployment.PUBLISHED_FERNET_KEYS)), "ledgerlink.E002"),
    ],
)
def test_a_published_secret_is_an_error_in_every_mode(tmp_path, variable, published, error):
    for mode in ("production", "demo"):
        env = _production(LEDGERLINK_MODE=mode, LEDGERLINK_PUBLIC_URL="https://books.example.com")
        env[variable] = published
        result = _ledgerlink(["check"], tmp_path, **env)
        assert result.returncode != 0 and error in result.stderr, (mode, result.stderr)


def test_https_public_url_switches_the_hardening_on(tmp_path):
    probe = (
        "from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS > 0, s.SECURE_PROXY_SSL_HEADER, 'books.example.com' in s.ALLOWED_HOSTS, "
        "s.CSRF_TRUSTED_ORIGINS)"
    )
    result = _ledgerlink(
        ["shell", "--no-imports", "-c", probe],
        tmp_path,
        **_production(LEDGERLINK_PUBLIC_URL="https://books.example.com"),
    )
    assert result.stdout.strip() == (
        "True True True True ('HTTP_X_FORWARDED_PROTO', 'https') True ['https://books.example.com']"
    ), result.stderr
    plain = _ledgerlink(
        [
            "shell",
            "--no-imports",
            "-c",
            "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT)",
        ],
        tmp_path,
        **_production(),
    )
    assert plain.stdout.strip() == "False"


def test_demo_and_test_modes_make_their_secrets_once_and_keep_them(tmp_path):
    first = deployment.secrets_for({}, "demo", tmp_path)
    again = deployment.secrets_for({}, "demo", tmp_path)
    assert first == again and len(first.secret_key) >= 50
    Fernet(first.fernet_keys[0].encode())  # a usable key
    assert (tmp_path / deployment.SECRETS_FILE).stat().st_mode & 0o777 == 0o600
    given = deployment.secrets_for({"DJANGO_SECRET_KEY": SECRET_KEY}, "test", tmp_path)
    assert given.secret_key == SECRET_KEY and given.fernet_keys == first.fernet_keys
    with pytest.raises(deployment.MissingSecrets):
        deployment.secrets_for({}, "production", tmp_path)
    with pytest.raises(deployment.MissingSecrets, match="expected one of"):
        deployment.mode({"LEDGERLINK_MODE": "staging"})


def test_gunicorn_access_log_holds_no_api_key_and_no_oauth_code(tmp_path):
    port = free_port()
    log = tmp_path / "access.log"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(LEDGERLINK_DATA_DIR=str(tmp_path))
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "ledgerlink.wsgi",
        "--config",
        "python:ledgerlink.gunicorn_conf",
    ]
    command += ["--bind", f"127.0.0.1:{port}", "--access-logfile", str(log)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/api/v1/health", timeout=5)
                break
            except requests.RequestException:  # not listening yet, or a slow first answer on a busy machine
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        requests.get(f"{base}/api/v1/invoices", auth=("llk_secretprefix_secretkeyvalue", ""), timeout=30)
        requests.get(f"{base}/connections/xero/callback/?code=AUTHCODE123&state=STATE456", timeout=30)
        deadline = time.monotonic() + 5
        while log.read_text().count("\n") < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=10)
    written = log.read_text()
    assert (
        "GET /api/v1/invoices HTTP/1.1" in written and "GET /connections/xero/callback/ HTTP/1.1" in written
    )
    for secret in ("llk_secretprefix", "secretkeyvalue", "AUTHCODE123", "STATE456"):
        assert secret not in written
