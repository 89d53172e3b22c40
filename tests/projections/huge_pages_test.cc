// huge_page_scope moves the thread's allocations to the huge-page arena and back, nests, and
// memory allocated inside may be used and freed anywhere. Where the allocator is not jemalloc
// the scope is inactive and everything works the same.
#include "projections/huge_pages.h"

#include <dlfcn.h>
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <thread>
#include <vector>

using namespace kakehashi;

namespace {

// The thread's jemalloc arena, or -1 without jemalloc.
long thread_arena() {
  using mallctl_fn = int (*)(const char*, void*, std::size_t*, void*, std::size_t);
  auto mallctl = reinterpret_cast<mallctl_fn>(::dlsym(RTLD_DEFAULT, "mallctl"));
  if (!mallctl) return -1;
  unsigned arena = 0;
  std::size_t size = sizeof arena;
  if (mallctl("thread.arena", &arena, &size, nullptr, 0) != 0) return -1;
  return arena;
}

}  // namespace

TEST_CASE("huge_page_scope: allocations move to the huge-page arena and back, nested too") {
  const long before = thread_arena();
  std::unique_ptr<std::vector<char>> kept;
  {
    huge_page_scope outer;
    CHECK(outer.active() == (before >= 0));
    const long inside = thread_arena();
    if (outer.active()) CHECK(inside != before);
    {
      huge_page_scope inner;
      CHECK(inner.active() == outer.active());
      CHECK(thread_arena() == inside);
    }
    CHECK(thread_arena() == inside);
    kept = std::make_unique<std::vector<char>>(8u << 20, 'x');  // several huge pages' worth
    std::memset(kept->data(), 'y', kept->size());
  }
  CHECK(thread_arena() == before);
  CHECK((*kept)[12345] == 'y');
  // Freed on another thread, reused by another scope there.
  std::thread other([&] {
    kept.reset();
    huge_page_scope scope;
    std::vector<char> again(8u << 20, 'z');
    CHECK(again.back() == 'z');
  });
  other.join();
  CHECK(thread_arena() == before);
}
