# Shared by scripts/demo, scripts/test and the benchmarks. Sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Debian packages roomd builds against, and the tools its tests drive.
BUILD_PACKAGES=(
  pkg-config libssl-dev libsqlite3-dev
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  libv4l-dev libasound2-dev
  libqrencode-dev zlib1g-dev
  libpango1.0-dev libcairo2-dev fonts-noto-cjk
)
# chromium, its driver, NSS tools and Selenium: the station pages are tested in a real browser that presents
# each station's client certificate itself; sqlite3 for the tests that read the evidence tables as a stranger
# would; poppler-utils (pdffonts, pdftotext) for the report PDF.
TEST_PACKAGES=(curl openssl python3 ca-certificates ffmpeg zbar-tools librsvg2-bin python3-seccomp systemd
               chromium chromium-driver libnss3-tools python3-selenium sqlite3 poppler-utils prometheus)

# Debian packaging (scripts/package): debhelper 13.11 also provides dh-sequence-installsysusers;
# lintian checks the .deb; help2man makes the manual pages. Rules-Requires-Root: no, so no fakeroot.
PACKAGE_PACKAGES=(debhelper dpkg-dev lintian help2man)

# Python tools from PyPI the package and delivery tests check roomd against (independent implementations):
# bagit.py (BagIt validation), moto's S3 server with boto3/botocore (a real S3 API, Signature V4),
# rfc3161-client (RFC 3161 tokens). Pinned; installed into a venv under .build-python/ (not in git).
PYTHON_TOOLS=("bagit==1.9.0" "moto[server]==5.2.5" "boto3==1.44.8" "rfc3161-client==1.0.9")
PYTHON_TOOLS_VENV="$ROOT/.build-python/venv"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Installs whichever of the named Debian packages are missing (apt-get update first).
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Swift is not a Debian package: it must be installed under /opt/swift or be on PATH.
ensure_swift() {
  if ! command -v swift >/dev/null 2>&1; then
    if [ -x /opt/swift/usr/bin/swift ]; then
      export PATH="/opt/swift/usr/bin:$PATH"
    else
      echo "Swift 6.3 or newer is required (install the swift.org toolchain for Debian 12 under /opt/swift)." >&2
      exit 1
    fi
  fi
}

# One build at a time on small machines: every build takes this lock.
build() {
  flock /tmp/roomd-build.lock swift build "$@"
}

# Creates the test venv (Debian's python3 + python3-venv) and installs PYTHON_TOOLS into it once.
# Tests find it through ROOMD_TEST_PYTHON.
ensure_python_tools() {
  ensure_packages python3-venv python3-pip
  local stamp="$PYTHON_TOOLS_VENV/.roomd-tools"
  if [ ! -x "$PYTHON_TOOLS_VENV/bin/python3" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${PYTHON_TOOLS[*]}" ]; then
    log "installing Python test tools: ${PYTHON_TOOLS[*]}"
    /usr/bin/python3 -m venv "$PYTHON_TOOLS_VENV"
    "$PYTHON_TOOLS_VENV/bin/pip" install -q --disable-pip-version-check "${PYTHON_TOOLS[@]}"
    echo "${PYTHON_TOOLS[*]}" > "$stamp"
  fi
  export ROOMD_TEST_PYTHON="$PYTHON_TOOLS_VENV/bin/python3"
}
