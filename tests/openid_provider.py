"""A real OpenID provider for the tests: panva's oidc-provider (tests/oidc_provider/, installed from
npm with `npm ci` on first use) run by Node on a loopback port, once per test session.

Clients registered there (secret: CLIENT_SECRET): `lifemsg-citizen` and `lifemsg-staff`. The provider
accepts client_secret_basic only (the OpenID default; client_secret_post gets invalid_client).
Accounts: `alva` (a citizen with a personnummer, released through the Swedish OIDC profile's scope)
and `anna` (a staff member in the IdP group `ifo-handlaggare`).

`provider_login` plays the browser between Django's test client and the provider (a requests session
holds the provider's cookies), for tests that need a real provider but no Chromium.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

HERE = Path(__file__).parent / "oidc_provider"
CLIENT_SECRET = "test-client-secret-0123456789"
PNR = "198001019812"
PNR_CLAIM = "https://id.oidc.se/claim/personalIdentityNumber"
ACCOUNTS = {
    "alva": {PNR_CLAIM: PNR, "given_name": "Alva", "family_name": "Lindqvist", "name": "Alva Lindqvist"},
    "anna": {
        "preferred_username": "anna.sso@kommun.example",
        "email": "anna.sso@kommun.example",
        "given_name": "Anna",
        "family_name": "Sundberg",
        "groups": ["ifo-handlaggare"],
    },
}
CITIZEN_PATHS = {"callback": "/medborgare/oidc/callback/", "after_logout": "/medborgare/logga-in/"}
# Empty in the settings of these tests: discovery finds them.
ENDPOINTS = ("AUTHORIZATION_ENDPOINT", "TOKEN_ENDPOINT", "USER_ENDPOINT", "JWKS_ENDPOINT", "LOGOUT_ENDPOINT")
STAFF_PATHS = {"callback": "/sso/callback/", "after_logout": "/logga-in/"}


def _installed() -> bool:
    lock = json.loads((HERE / "package-lock.json").read_text())
    wanted = lock["packages"]["node_modules/oidc-provider"]["version"]
    have = HERE / "node_modules" / "oidc-provider" / "package.json"
    return have.exists() and json.loads(have.read_text())["version"] == wanted


def npm_ci() -> None:
    if not _installed():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True, timeout=600
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client(client_id: str, paths: dict, bases: list[str], method: str) -> dict:
    return {
        "client_id": client_id,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [base + paths["callback"] for base in bases],
        "post_logout_redirect_uris": [base + paths["after_logout"] for base in bases],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": method,
    }


@dataclass
class OpenIDProvider:
    issuer: str
    process: subprocess.Popen
    log: list[str] = field(default_factory=list)

    def set_clock(self, skew_seconds: float) -> None:
        """Run the provider's clock this many seconds ahead of ours (0: back in step)."""
        requests.post(f"{self.issuer}/__test__/clock", json={"skew_seconds": skew_seconds}, timeout=5)

    def citizen_settings(self, **extra) -> dict:
        """The citizen flow configured by discovery alone: issuer, client id and secret."""
        return {
            "CITIZEN_OIDC_ENABLED": True,
            "OIDC_OP_ISSUER": self.issuer,
            "OIDC_OP_DISCOVERY": True,
            "OIDC_RP_CLIENT_ID": "lifemsg-citizen",
            "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            **{f"OIDC_OP_{e}": "" for e in ENDPOINTS},
            "OIDC_RP_TOKEN_AUTH_METHOD": "",
            **extra,
        }

    def staff_settings(self, **extra) -> dict:
        return {
            "STAFF_OIDC_ENABLED": True,
            "STAFF_OIDC_OP_ISSUER": self.issuer,
            "STAFF_OIDC_OP_DISCOVERY": True,
            "STAFF_OIDC_RP_CLIENT_ID": "lifemsg-staff",
            "STAFF_OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "STAFF_OIDC_RP_SCOPES": "openid profile email groups",
            **{f"STAFF_OIDC_OP_{e}": "" for e in ENDPOINTS},
            "STAFF_OIDC_RP_TOKEN_AUTH_METHOD": "",
            "STAFF_OIDC_ROLE_MAP": "ifo-handlaggare=Handläggare",
            "STAFF_OIDC_UNIT_MAP": "",
            "STAFF_OIDC_REQUIRED_AMR": [],
            **extra,
        }


def start_provider(bases: list[str]) -> OpenIDProvider:
    npm_ci()
    port = _free_port()
    config = {
        "port": port,
        "clients": [
            _client("lifemsg-citizen", CITIZEN_PATHS, bases, "client_secret_basic"),
            _client("lifemsg-staff", STAFF_PATHS, bases, "client_secret_basic"),
        ],
        "accounts": ACCOUNTS,
        "clientAuthMethods": ["client_secret_basic"],
    }
    process = subprocess.Popen(
        ["node", "provider.js"],
        cwd=HERE,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    process.stdin.write(json.dumps(config))
    process.stdin.close()
    deadline = time.monotonic() + 30
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("READY "):
            return OpenIDProvider(issuer=line.split()[1], process=process, log=lines)
    process.kill()
    raise RuntimeError("the test OpenID provider did not start:\n" + "".join(lines))


def _provider(bases: list[str]):
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed to run the test OpenID provider (apt-get install nodejs npm)")
    provider = start_provider(bases)
    try:
        yield provider
    finally:
        provider.process.terminate()
        try:
            provider.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            provider.process.kill()


@pytest.fixture(scope="session")
def openid_provider():
    """The provider, with lifemsg's redirect URIs registered for Django's test client."""
    yield from _provider(["http://testserver"])


@pytest.fixture(scope="session")
def browser_openid_provider(live_server):
    """The provider, with lifemsg's redirect URIs registered for the live server Chromium uses (a
    provider of its own: depending on live_server makes every test that uses it transactional)."""
    yield from _provider([live_server.url])


@pytest.fixture
def provider_clock(openid_provider):
    """Set the provider's clock skew for one test; back in step afterwards."""
    yield openid_provider.set_clock
    openid_provider.set_clock(0)


class ProviderBrowser:
    """The user's browser at the provider, for Django test client flows: the provider's cookies (its
    login session) live here, lifemsg's in the test client."""

    def __init__(self, provider: OpenIDProvider):
        self.provider = provider
        self.session = requests.Session()
        self.login_pages = 0  # how often the provider asked the user to log in

    def login(self, client, start_path: str, account: str = "alva", loa: int = 3):
        """Follow a login from lifemsg's start URL through the provider back to lifemsg's callback;
        return the callback's response."""
        location = client.get(start_path)["Location"]
        for _ in range(10):
            if not location.startswith(self.provider.issuer):
                parts = urlsplit(location)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                return client.get(parts.path, query)
            response = self.session.get(location, allow_redirects=False, timeout=10)
            if response.is_redirect:
                location = requests.compat.urljoin(location, response.headers["Location"])
                continue
            action = re.search(r'action="(/interaction/[^"]+/login)"', response.text)
            assert action, response.text[:500]
            self.login_pages += 1
            response = self.session.post(
                self.provider.issuer + action.group(1),
                data={"login": account, "loa": str(loa), "mfa": "1"},
                allow_redirects=False,
                timeout=10,
            )
            location = requests.compat.urljoin(location, response.headers["Location"])
        raise AssertionError("no way back from the provider")
