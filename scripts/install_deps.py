#!/usr/bin/env python3
"""Install lifemsg's locked dependencies into the running interpreter, every file checked by its hash.

    .venv/bin/python scripts/install_deps.py --dev      # development and tests: requirements/lock-dev.txt
    python scripts/install_deps.py                      # production image: requirements/lock.txt
    python scripts/install_deps.py --lock requirements/lock-django6.txt

pyproject.toml holds the ranges; requirements/lock*.txt pin every package, dependencies of
dependencies included, with the hashes of its files (`make lock` writes them with uv from
pyproject.toml). pip runs with --require-hashes, so a file that differs from the one locked is
refused, and a new upstream release changes nothing until `make upgrade` refreshes the lock and the
suite passes with it. The project itself is not installed: it runs from the checkout.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements"


def _name(requirement: str) -> str:
    """The normalised project name at the start of a requirement string (PEP 503)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def declared(dev: bool) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = list(project.get("dependencies", []))
    if dev:
        names += project.get("optional-dependencies", {}).get("dev", [])
    return {_name(r) for r in names}


def pinned(lock: Path) -> set[str]:
    return {_name(line) for line in lock.read_text(encoding="utf-8").splitlines() if "==" in line}


def only(lock: Path, name: str, into: Path) -> Path:
    """The lock's entry for one package (its pin and hashes), as a lock file of its own."""
    lines, keep = [], False
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line and not line[0].isspace():
            keep = _name(line) == name and "==" in line
        if keep and not line.lstrip().startswith("#"):
            lines.append(line)
    if not lines:
        sys.exit(f"install_deps: {name} is not in {lock}")
    into.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", action="store_true", help="runtime + development (lock-dev.txt)")
    parser.add_argument("--lock", type=Path, help="another lock file (e.g. requirements/lock-django6.txt)")
    parser.add_argument(
        "--no-deps",
        action="store_true",
        help="trust the lock's resolution (the Django 6 lock overrides ranges that packages declare)",
    )
    parser.add_argument("--only", metavar="NAME", help="just this package of the lock (make lock: uv)")
    parser.add_argument("--verbose", "-v", action="store_true", help="show pip's full output")
    args = parser.parse_args()
    lock = (args.lock or REQUIREMENTS / ("lock-dev.txt" if args.dev else "lock.txt")).resolve()
    if not lock.is_file():
        sys.exit(f"install_deps: no lock file {lock}")
    if args.only:  # pinned and hashed as locked, whatever else the lock lacks
        with tempfile.TemporaryDirectory() as tmp:
            one = only(lock, _name(args.only), Path(tmp) / "one.txt")
            return subprocess.call(
                [sys.executable, "-m", "pip", "install", "-q", "--require-hashes", "-r", one]
            )
    # A dependency added to pyproject.toml without `make lock` would be missing: say so first
    # (tests/test_dependencies.py checks versions too).
    missing = sorted(declared(args.dev or args.lock is not None) - pinned(lock))
    if missing:
        print(f"install_deps: {lock.name} lacks {', '.join(missing)}: run `make lock`", file=sys.stderr)
        return 1
    pip = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--require-hashes"]
    if args.no_deps:
        pip.append("--no-deps")
    if not args.verbose:
        pip.append("--quiet")
        print(
            f"Installing lifemsg's dependencies from {lock.relative_to(ROOT)} (the first time: a minute) ..."
        )
    return subprocess.call([*pip, "-r", str(lock)])  # noqa: S603 (our own lock file)


if __name__ == "__main__":
    sys.exit(main())
