# shellcheck shell=bash
# Debian packages Kakehashi builds and tests with. Sourced by scripts/run and scripts/test.
# Functions return non-zero on failure instead of exiting, so callers can report it; they do
# not rely on `set -e`, which bash ignores inside functions called from a condition.

KAKEHASHI_DEB_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  librocksdb-dev libboost1.81-dev libboost-json1.81-dev
  capnproto libcapnp-dev doctest-dev libsodium-dev
  libjemalloc-dev
  # Browser tests of the dashboard (tests/browser): playwright-core from npm drives Debian's
  # chromium; a Japanese font so the pages (and their screenshots) render 漢字, not boxes.
  nodejs npm chromium fonts-noto-cjk
)

# Only for scripts/fuzz: clang and its runtimes (libclang-rt-14-dev has libclang_rt.fuzzer).
KAKEHASHI_FUZZ_DEB_PACKAGES=(clang libclang-rt-14-dev)

# Packages that count as present when their command is on PATH, however it got there: a
# machine whose Node.js comes from another repository (which bundles npm and conflicts with
# Debian's npm package) must not have it replaced.
declare -gA KAKEHASHI_PACKAGE_COMMANDS=([nodejs]=node [npm]=npm [chromium]=chromium)

# Prints the packages of "$@" that are not installed, one per line.
kakehashi_missing_packages() {
  local package status
  for package in "$@"; do
    if [[ -n ${KAKEHASHI_PACKAGE_COMMANDS[$package]:-} ]] &&
      command -v "${KAKEHASHI_PACKAGE_COMMANDS[$package]}" >/dev/null; then
      continue
    fi
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || printf '%s\n' "$package"
  done
}

# Installs whatever of KAKEHASHI_DEB_PACKAGES (or of the packages given) is missing; does nothing
# (and needs no network or root) when everything is there already.
kakehashi_ensure_deps() {
  local wanted=("$@")
  ((${#wanted[@]} > 0)) || wanted=("${KAKEHASHI_DEB_PACKAGES[@]}")
  if ! command -v dpkg-query >/dev/null; then
    echo "kakehashi: dpkg-query not found; this script expects Debian 12" >&2
    return 1
  fi
  local missing=()
  mapfile -t missing < <(kakehashi_missing_packages "${wanted[@]}")
  ((${#missing[@]} == 0)) && return 0

  echo "kakehashi: installing missing Debian packages: ${missing[*]}" >&2
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null; then
      echo "kakehashi: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
      return 1
    fi
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update || return 1
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}" || return 1
}
