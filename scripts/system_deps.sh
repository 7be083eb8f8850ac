#!/usr/bin/env bash
# What the test suite needs from the distribution (Debian 12), installed when missing:
#   chromium      the browser tests (Playwright drives Debian's Chromium; no browser download)
#   gettext       msgfmt, to compile the translation catalogues
#   redis-server  the broker-outage test starts and stops a Redis server of its own
#   python3-venv  to create .venv, if it does not exist yet
#   nodejs, npm   the OpenID provider of the e-ID and SSO tests (oidc-provider, tests/oidc_provider)
#   pango, fonts  WeasyPrint's text layout and the font it embeds in the case-file PDF/A (also runtime)
# As root it runs apt-get; otherwise it prints the one command to run and fails.
# Usage: scripts/system_deps.sh [python used for .venv]. SYSTEM_DEPS=skip skips the check.
set -euo pipefail

if [ "${SYSTEM_DEPS:-}" = "skip" ]; then
    exit 0
fi

python="${1:-python3}"
missing=()
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v msgfmt >/dev/null || missing+=(gettext)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' || missing+=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ! -x .venv/bin/python ] && ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=(python3-venv)
fi
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "Installing what the suite needs from Debian: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    exit 0
fi
echo "The test suite needs: ${missing[*]}. Install with:" >&2
echo "    sudo apt-get install ${missing[*]}" >&2
echo "(or run without that check: make test SYSTEM_DEPS=skip)" >&2
exit 1
