"""Production settings: the deploy check, cookies and headers (issue 8, points 15 and 16)."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-enough-secret-for-this-test-only-0123456789-abcdefghijklmnopqrstuvwxyz",
    "SITE_URL": "https://care.example.org",
    "EMAIL_HOST": "smtp.example.org",
    "ALLOWED_HOSTS": "care.example.org",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SECURE_SSL_REDIRECT": "true",
    "ADMINS": "ops@example.org",
    # A valid key, made for this test only.
    "VAPID_PRIVATE_KEY": "Wm4FA3zkl7oKGXBunpSHpl_vYe0EXP-7TlwT9nbc1dQ",
}


def run(code_or_args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": "/usr/bin:/bin",
        "VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        **env,
    }
    return subprocess.run(
        [sys.executable, *code_or_args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deploy_check_passes_with_production_settings(tmp_path):
    done = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION, tmp_path)
    assert done.returncode == 0, done.stderr


def test_the_deploy_check_fails_without_a_shared_push_key(tmp_path):
    env = {key: value for key, value in PRODUCTION.items() if key != "VAPID_PRIVATE_KEY"}
    done = run(["manage.py", "check", "--deploy"], env, tmp_path)
    assert done.returncode != 0
    assert "VAPID_PRIVATE_KEY is not set" in done.stderr


def test_the_deploy_check_fails_on_a_bad_push_key(tmp_path):
    done = run(["manage.py", "check", "--deploy"], {**PRODUCTION, "VAPID_PRIVATE_KEY": "not-a-key"}, tmp_path)
    assert done.returncode != 0
    assert "portal.E002" in done.stderr


def test_production_cookies_are_host_only(tmp_path):
    code = "import django; django.setup(); from django.conf import settings as s; print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.ADMINS)"
    done = run(["-c", code], PRODUCTION, tmp_path)
    assert done.stdout.split() == ["__Host-sessionid", "__Host-csrftoken", "['ops@example.org']"], done.stderr


@pytest.mark.django_db
def test_pages_turn_off_features_the_app_never_uses(client):
    policy = client.get(reverse("account_login"))["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment"):
        assert f"{feature}=()" in policy
    # Passkeys are used: not turned off.
    assert "publickey-credentials" not in policy
