# shellcheck shell=bash
# Configuring and building. Sourced by scripts/run and scripts/test from the repository root.
# Returns non-zero on failure rather than exiting (see deps.sh).

# kakehashi_build DIR [CMAKE_ARGS...]
# Configures DIR once (Ninja, Release, plus CMAKE_ARGS), then builds it with one job per CPU.
# With nothing changed this is a no-op build that takes well under a second. Later CMakeLists
# edits are picked up by the build itself, so there is no need to configure again.
kakehashi_build() {
  local dir=$1
  shift
  if [[ ! -f $dir/build.ninja && ! -f $dir/Makefile ]]; then
    local generator=(-G Ninja)
    # A cache left by an earlier failed configure keeps its generator; naming another fails.
    if [[ -f $dir/CMakeCache.txt ]] && ! grep -qx 'CMAKE_GENERATOR:INTERNAL=Ninja' "$dir/CMakeCache.txt"; then
      generator=()
    fi
    cmake "${generator[@]}" -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" || return 1
  fi
  cmake --build "$dir" -j "$(nproc)" || return 1
}
