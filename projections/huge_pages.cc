#include "projections/huge_pages.h"

#include <dlfcn.h>
#include <sys/mman.h>

#include <cstddef>
#include <mutex>

namespace kakehashi {
namespace {

// jemalloc's documented extension interface (jemalloc(3), "EXTENT HOOKS"), declared here
// rather than included, so nothing links against jemalloc.
struct extent_hooks;
using extent_alloc = void*(extent_hooks*, void* new_addr, std::size_t size, std::size_t alignment,
                           bool* zero, bool* commit, unsigned arena_index);
struct extent_hooks {
  extent_alloc* alloc;
  void* dalloc;
  void* destroy;
  void* commit;
  void* decommit;
  void* purge_lazy;
  void* purge_forced;
  void* split;
  void* merge;
};
using mallctl_fn = int (*)(const char* name, void* old_value, std::size_t* old_size,
                           void* new_value, std::size_t new_size);

// Transparent huge pages need 2 MiB-aligned runs; smaller extents are left alone.
constexpr std::size_t huge_page_bytes = std::size_t{2} << 20;

extent_hooks default_hooks;  // arena 0's, which ours wrap
extent_hooks huge_hooks;

void* alloc_huge(extent_hooks* hooks, void* new_addr, std::size_t size, std::size_t alignment,
                 bool* zero, bool* commit, unsigned arena_index) {
  void* memory = default_hooks.alloc(hooks, new_addr, size, alignment, zero, commit, arena_index);
  // Advice only: where the kernel has no huge page at hand it uses small ones, as before.
  if (memory && size >= huge_page_bytes) (void)::madvise(memory, size, MADV_HUGEPAGE);
  return memory;
}

struct huge_arena {
  mallctl_fn mallctl = nullptr;
  unsigned index = 0;
  bool ready = false;
};

const huge_arena& arena() {
  static huge_arena made;
  static std::once_flag once;
  std::call_once(once, [] {
    auto mallctl = reinterpret_cast<mallctl_fn>(::dlsym(RTLD_DEFAULT, "mallctl"));
    if (!mallctl) return;
    extent_hooks* defaults = nullptr;
    std::size_t size = sizeof defaults;
    if (mallctl("arena.0.extent_hooks", &defaults, &size, nullptr, 0) != 0 || !defaults ||
        !defaults->alloc)
      return;
    default_hooks = *defaults;
    huge_hooks = *defaults;
    huge_hooks.alloc = alloc_huge;
    extent_hooks* hooks = &huge_hooks;
    unsigned index = 0;
    size = sizeof index;
    if (mallctl("arenas.create", &index, &size, &hooks, sizeof hooks) != 0) return;
    made.mallctl = mallctl;
    made.index = index;
    made.ready = true;
  });
  return made;
}

}  // namespace

huge_page_scope::huge_page_scope() {
  const auto& a = arena();
  if (!a.ready) return;
  unsigned index = a.index;
  std::size_t size = sizeof previous_arena_;
  active_ = a.mallctl("thread.arena", &previous_arena_, &size, &index, sizeof index) == 0;
}

huge_page_scope::~huge_page_scope() {
  if (!active_) return;
  (void)arena().mallctl("thread.arena", nullptr, nullptr, &previous_arena_, sizeof previous_arena_);
}

}  // namespace kakehashi
