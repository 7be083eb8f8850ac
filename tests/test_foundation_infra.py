"""Foundation infrastructure: production settings, /healthz, the service check, deployment files.

The production-settings tests run `manage.py` in a subprocess with a clean environment, the way a
server starts it. The /healthz tests run against the real PostgreSQL and Redis of the test
settings; the "database down" case runs in a subprocess whose DATABASE_URL points at a closed
port, so nothing is faked and the test database is never touched.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from django.db import connections
from django.test import Client
from django.urls import resolve

from lifemsg.health import HealthView

REPO = Path(__file__).resolve().parent.parent
CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"
CLOSED_PORT_POSTGRES = "postgres://root@127.0.0.1:1/lifemsg"
FAST_SECONDS = 5  # a dead dependency must give a quick 503, never a hanging probe


def manage(*args: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def base_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    """A clean environment, as a service manager would give it; None removes a variable."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LIFEMSG_VAR_DIR": str(tmp_path / "var"),
        # The test settings module put the local services' URLs into os.environ.
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "REDIS_URL": os.environ["REDIS_URL"],
    }
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    production = {
        "DJANGO_SETTINGS_MODULE": "lifemsg.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(45),  # 60 characters
        "ACCESS_LOG_HMAC_KEY": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "lifemsg.example.se",
        "CSRF_TRUSTED_ORIGINS": "https://lifemsg.example.se",
        # Production sends mail (.env.example); Django 6.1's deploy check refuses the console backend.
        "EMAIL_URL": "smtp+tls://lifemsg:not-a-secret@smtp.example.se:587",
    }
    return base_env(tmp_path, **{**production, **overrides})


# --- production settings --------------------------------------------------------------------


def test_check_deploy_reports_no_issues_with_production_settings(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


@pytest.mark.parametrize(
    "secret_key",
    [None, "", "x" * 49],
    ids=["unset", "empty", "shorter-than-50"],
)
def test_production_settings_refuse_to_start_without_a_real_secret_key(tmp_path, secret_key):
    if secret_key is None and (REPO / ".env").exists():
        # base.py reads a checkout's .env; an unset variable could be filled from there.
        pytest.skip("a .env in the checkout may provide SECRET_KEY")
    result = manage("check", env=production_env(tmp_path, SECRET_KEY=secret_key))
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr, result.stderr


@pytest.mark.parametrize("hmac_key", [None, "", "k" * 31], ids=["unset", "empty", "shorter-than-32"])
def test_production_settings_refuse_to_start_without_an_access_log_key(tmp_path, hmac_key):
    if hmac_key is None and (REPO / ".env").exists():
        pytest.skip("a .env in the checkout may provide ACCESS_LOG_HMAC_KEY")
    result = manage("check", env=production_env(tmp_path, ACCESS_LOG_HMAC_KEY=hmac_key))
    assert result.returncode != 0
    assert "ACCESS_LOG_HMAC_KEY" in result.stderr, result.stderr


# --- /healthz ----------------------------------------------------------------------------------


def get_healthz():
    """GET /healthz through the full middleware stack, from a fresh thread.

    The view is async; the sync test client runs it with async_to_sync, which refuses to run in a
    thread that already has an event loop (pytest-playwright leaves one in the main thread once a
    browser test ran). A worker thread has none. Its connections are closed so that they do not
    keep the test database busy at teardown.
    """

    def call():
        try:
            started = time.monotonic()
            response = Client().get("/healthz", HTTP_ACCEPT="application/json")
            return response, time.monotonic() - started
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result(timeout=60)


def test_healthz_is_wired_into_the_project_urls():
    match = resolve("/healthz")
    assert match.func.view_class is HealthView
    assert match.url_name == "healthz"


@pytest.mark.django_db
def test_healthz_ok_when_database_and_broker_answer():
    response, _ = get_healthz()
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_503_names_the_broker_when_redis_is_down(settings):
    settings.CELERY_BROKER_URL = "redis://:s3cret-password@127.0.0.1:1/0"
    response, seconds = get_healthz()
    assert response.status_code == 503, response.content
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error: ")
    assert "s3cret-password" not in response.content.decode()
    assert seconds < FAST_SECONDS


@pytest.mark.django_db
def test_healthz_checks_the_filesystem_broker_of_make_run(settings, tmp_path):
    folders = {name: tmp_path / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "store_processed": False,
        "control_folder": str(folders["control"]),
    }
    response, _ = get_healthz()
    assert response.status_code == 200, response.content

    folders["queue"].rmdir()
    response, _ = get_healthz()
    assert response.status_code == 503
    assert "data_folder_in" in response.json()["checks"]["broker"]


HEALTHZ_IN_SUBPROCESS = """
import json, time
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
started = time.monotonic()
response = Client().get("/healthz", HTTP_ACCEPT="application/json")
print(json.dumps({"status_code": response.status_code, "body": response.json(),
                  "seconds": time.monotonic() - started}))
"""


def test_healthz_503_names_the_database_when_postgres_is_down(tmp_path):
    env = base_env(
        tmp_path,
        DJANGO_SETTINGS_MODULE="lifemsg.settings.test",
        DATABASE_URL=CLOSED_PORT_POSTGRES,
    )
    result = subprocess.run(
        [sys.executable, "-c", HEALTHZ_IN_SUBPROCESS],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status_code"] == 503, outcome
    assert outcome["body"]["status"] == "error"
    assert outcome["body"]["checks"]["broker"] == "ok"
    assert outcome["body"]["checks"]["database"].startswith("error: ")
    assert "127.0.0.1" not in outcome["body"]["checks"]["database"]  # no connection details
    assert outcome["seconds"] < FAST_SECONDS


# --- make test's service check ----------------------------------------------------------------


def test_service_check_fails_fast_with_directions(tmp_path):
    env = base_env(tmp_path, DATABASE_URL=CLOSED_PORT_POSTGRES, REDIS_URL=CLOSED_PORT_REDIS)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "scripts/check_services.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert time.monotonic() - started < 10
    assert "PostgreSQL is not reachable" in result.stderr
    assert "Redis is not reachable" in result.stderr
    assert "docker-compose.dev.yml up -d db redis" in result.stderr
    assert "pg_ctlcluster --skip-systemctl-redirect" in result.stderr
    assert "redis-server --daemonize yes" in result.stderr


@pytest.mark.postgres_only(reason="scripts/check_services.py checks make test's PostgreSQL")
def test_service_check_passes_against_the_test_services(tmp_path):
    result = subprocess.run(
        [sys.executable, "scripts/check_services.py"],
        cwd=REPO,
        env=base_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


# --- deployment files ---------------------------------------------------------------------------


# env.str("NAME", ...), env.db("NAME"), env("NAME"), environ.Env().str("NAME")
ENV_READ = re.compile(r"""\b(?:env|Env\(\))(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""")


def settings_env_vars() -> set[str]:
    names = set()
    for path in (REPO / "lifemsg" / "settings").glob("*.py"):
        names |= set(ENV_READ.findall(path.read_text()))
    return names


def test_env_example_documents_every_variable_the_settings_read():
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (REPO / ".env.example").read_text(), re.M))
    read = settings_env_vars()
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"} <= read  # the scan works
    missing = sorted(read - documented)
    assert not missing, f"add these to .env.example (with a comment): {missing}"


def test_env_example_carries_no_usable_secret():
    values = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", (REPO / ".env.example").read_text(), re.M))
    assert values["SECRET_KEY"] == ""
    assert values["POSTGRES_PASSWORD"] == ""
    assert values["REDIS_PASSWORD"] == ""
    assert values["DEBUG"] == "false"


def test_compose_file_has_the_production_shape():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"web", "worker", "beat", "db", "redis"}
    for name in ("web", "worker", "beat"):
        assert services[name]["environment"]["DJANGO_SETTINGS_MODULE"] == "lifemsg.settings.production"
        assert services[name]["env_file"] == ".env"
    assert services["web"]["ports"] == ["127.0.0.1:${WEB_PUBLISH_PORT:-8000}:8000"]
    assert services["db"]["image"].startswith("postgres:16.")  # a pinned version, not a moving tag
    assert services["redis"]["image"].startswith("redis:7.")
    assert services["backup"]["image"] == services["db"]["image"]  # pg_dump of the server's version
    for name in ("web", "db", "redis", "backup"):
        assert "healthcheck" in services[name], name
    assert set(compose["volumes"]) >= {"pgdata", "private", "backups"}
    # Static files come with the image; a volume would keep serving an old release's files.
    assert "static" not in compose["volumes"]


def test_compose_publishes_no_database_or_redis_port():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    published = {name for name, service in compose["services"].items() if "ports" in service}
    assert published == {"web"}
    dev = yaml.safe_load((REPO / "docker-compose.dev.yml").read_text())
    for name in ("db", "redis"):
        for port in dev["services"][name]["ports"]:
            assert port.startswith("127.0.0.1:")  # even in development never on a public interface


def test_the_image_is_pinned_and_collects_static_files_at_build_time():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim-bookworm", dockerfile, re.M)
    assert "collectstatic" in dockerfile
    assert "collectstatic" not in (REPO / "scripts" / "docker-entrypoint.sh").read_text()


def test_install_deps_refuses_a_lock_that_lacks_a_declared_dependency(tmp_path):
    # The dev lock less Django: pyproject.toml declares it, so nothing is installed.
    lock = (REPO / "requirements" / "lock-dev.txt").read_text(encoding="utf-8")
    stale = tmp_path / "lock.txt"
    stale.write_text(lock.replace("\ndjango==", "\nnot-django=="), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "scripts/install_deps.py", "--lock", str(stale)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "lacks django: run `make lock`" in result.stderr
