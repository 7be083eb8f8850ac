"""The containers' own health checks: docker compose runs scripts/container_healthcheck.py for web,
worker and beat; for worker and beat it reads the heartbeat file their process touches."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import yaml
from django.conf import settings

from monitoring import pulse
from monitoring.models import Heartbeat
from tests.monitoring.helpers import ROOT

SCRIPT = ROOT / "scripts" / "container_healthcheck.py"
sys.path.insert(0, str(ROOT / "scripts"))

import container_healthcheck  # noqa: E402


def check(role: str, var_dir, **env: str) -> subprocess.CompletedProcess:
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LIFEMSG_VAR_DIR": str(var_dir), **env}
    return subprocess.run(
        [sys.executable, SCRIPT, role], env=environment, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize("role", ["worker", "beat"])
def test_the_check_passes_on_a_fresh_heartbeat_and_fails_on_a_stale_or_missing_one(role, tmp_path):
    result = check(role, tmp_path)
    assert result.returncode == 1
    assert "none recorded" in result.stdout

    heartbeat = tmp_path / f"heartbeat-{role}"
    heartbeat.touch()
    assert check(role, tmp_path).returncode == 0

    stale = time.time() - 61
    os.utime(heartbeat, (stale, stale))
    result = check(role, tmp_path)
    assert result.returncode == 1
    assert "stale" in result.stdout
    # The limit is the settings' variable, read from the same environment.
    assert check(role, tmp_path, **{f"LIVENESS_{role.upper()}_MAX_AGE_SECONDS": "120"}).returncode == 0


def test_the_check_uses_the_settings_defaults_and_file_names():
    assert container_healthcheck.MAX_AGE_DEFAULTS == {
        "worker": settings.LIVENESS_WORKER_MAX_AGE_SECONDS,
        "beat": settings.LIVENESS_BEAT_MAX_AGE_SECONDS,
    }
    assert str(container_healthcheck.heartbeat_dir()) == settings.LIVENESS_HEARTBEAT_DIR
    for component in Heartbeat.Component.values:
        assert pulse.heartbeat_file(component).name == f"heartbeat-{component}"


def test_an_unknown_role_is_an_error(tmp_path):
    assert check("scheduler", tmp_path).returncode == 2


def test_compose_checks_worker_and_beat_with_their_heartbeat():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert services["web"]["healthcheck"]["test"] == [
        "CMD",
        "python",
        "/app/scripts/container_healthcheck.py",
    ]
    for role in ("worker", "beat"):
        healthcheck = services[role]["healthcheck"]
        assert healthcheck["test"] == ["CMD", "python", "/app/scripts/container_healthcheck.py", role]
        # Noticed within about a minute and a half of the heartbeat going stale.
        assert healthcheck["interval"] == "30s" and healthcheck["retries"] <= 3
