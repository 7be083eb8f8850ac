"""The lock files say what runs: every dependency pyproject.toml declares is pinned, inside its range,
with hashes; production's lock pins what the suite's lock pins. A dependency added to pyproject.toml
without `make lock`, or a lock edited by hand, fails here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _pins(name: str) -> dict[str, tuple[Version, int]]:
    """{package: (version, number of hashes)} of a lock file."""
    pins: dict[str, tuple[Version, int]] = {}
    current = None
    for line in (REQUIREMENTS / name).read_text(encoding="utf-8").splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match.group(1))
            pins[current] = (Version(match.group(2)), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
        elif not line.startswith(" "):
            current = None
    return pins


RUNTIME = [Requirement(r) for r in _project()["dependencies"]]
DEV = [Requirement(r) for r in _project()["optional-dependencies"]["dev"]]


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [("lock.txt", RUNTIME), ("lock-dev.txt", RUNTIME + DEV), ("lock-django6.txt", DEV)],
)
def test_every_declared_dependency_is_locked_within_its_range_with_hashes(lock, requirements):
    pins = _pins(lock)
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements/{lock}: run `make lock`"
        version, hashes = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements/{lock} pins {name} {version}, outside {requirement.specifier}: run `make lock`"
        )
        assert hashes, f"{name} has no hash in requirements/{lock}"
    assert all(hashes for _version, hashes in pins.values())


def test_production_runs_what_the_suite_tests():
    runtime, dev = _pins("lock.txt"), _pins("lock-dev.txt")
    differing = {
        name: (v, dev.get(name, (None,))[0])
        for name, (v, _h) in runtime.items()
        if dev.get(name, (None,))[0] != v
    }
    assert not differing, f"lock.txt and lock-dev.txt disagree (run `make lock`): {differing}"


def test_the_django6_lock_takes_django_6_and_otherwise_the_declared_ranges():
    pins = _pins("lock-django6.txt")
    assert pins["django"][0].major == 6
    for requirement in RUNTIME:
        if canonicalize_name(requirement.name) != "django":
            assert requirement.specifier.contains(
                pins[canonicalize_name(requirement.name)][0], prereleases=True
            )


def test_the_celery_release_whose_worker_dies_without_its_broker_stays_out():
    # tests/absence/test_broker_outage.py shows why; a later release comes in through make upgrade.
    for lock in ("lock.txt", "lock-dev.txt", "lock-django6.txt"):
        assert _pins(lock)["celery"][0] != Version("5.7.0")
