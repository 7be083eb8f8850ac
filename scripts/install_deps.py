#!/usr/bin/env python3
"""Install lifemsg's dependencies, as declared in pyproject.toml, into the running interpreter.

    .venv/bin/python scripts/install_deps.py --extra dev     # development and tests
    python scripts/install_deps.py                           # production image

pyproject.toml is the single list of dependencies; this reads it with tomllib and hands the
requirement strings to pip. Nothing is built and no egg-info lands in the checkout, because the
project itself is not an installable package (`[tool.setuptools] packages = []`): it runs from the
checkout (manage.py, celery -A lifemsg, pytest-django all put it on sys.path).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def requirements(extras: list[str]) -> list[str]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    found = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            sys.exit(f"install_deps: no optional-dependencies group {extra!r} in {PYPROJECT}")
        found += optional[extra]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extra", action="append", default=[], help="optional group, e.g. dev")
    parser.add_argument("--print", action="store_true", help="print the requirements, install nothing")
    parser.add_argument("--verbose", "-v", action="store_true", help="show pip's full output")
    args = parser.parse_args()
    reqs = requirements(args.extra)
    if args.print:
        print("\n".join(reqs))
        return 0
    pip = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check"]
    if not args.verbose:
        pip.append("--quiet")
        extras = f" [{', '.join(args.extra)}]" if args.extra else ""
        print(f"Installing lifemsg's dependencies{extras} with pip (the first time takes a minute) ...")
    return subprocess.call([*pip, *reqs])  # noqa: S603 (requirements from our own pyproject.toml)


if __name__ == "__main__":
    sys.exit(main())
