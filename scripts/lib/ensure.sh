# Shared by scripts/test.sh, scripts/demo.sh and scripts/bench.sh: make sure the tools they
# need are present on a machine that starts with only Node 20, npm and apt.

PNPM_VERSION="10.34.9"

# pnpm, installed through npm when it is missing.
ensure_pnpm() {
  if command -v pnpm >/dev/null 2>&1; then
    return 0
  fi
  echo "==> pnpm is missing: npm install -g pnpm@${PNPM_VERSION}"
  if npm install -g "pnpm@${PNPM_VERSION}" >/dev/null 2>&1 && command -v pnpm >/dev/null 2>&1; then
    return 0
  fi
  # Not allowed to install globally (not root): run it through npm exec instead.
  echo "==> global install refused; using npm exec pnpm@${PNPM_VERSION}"
  pnpm() { npm exec --yes "pnpm@${PNPM_VERSION}" -- "$@"; }
}

# System tools from Debian's apt: binary name -> package name.
ensure_system_tools() {
  local missing_pkgs=()
  local bin pkg
  for pair in "$@"; do
    bin="${pair%%:*}"
    pkg="${pair##*:}"
    if ! command -v "$bin" >/dev/null 2>&1; then
      missing_pkgs+=("$pkg")
    fi
  done
  if [ "${#missing_pkgs[@]}" -eq 0 ]; then
    return 0
  fi
  local cmd="apt-get update && apt-get install -y ${missing_pkgs[*]}"
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing ${missing_pkgs[*]}: $cmd"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null
  else
    echo "error: missing ${missing_pkgs[*]}. Install with (as root):" >&2
    echo "  $cmd" >&2
    exit 1
  fi
}
