// Huge pages for bulk folds. While a huge_page_scope is alive, the calling thread allocates from
// a jemalloc arena whose memory the kernel is asked to back with transparent huge pages
// (madvise MADV_HUGEPAGE; used when /sys/kernel/mm/transparent_hugepage/enabled is "always" or
// "madvise").
//
// Why: a rebuild allocates the whole read model (and then the snapshot's buffers) in fresh
// memory, and every fresh 4 KiB page is a page fault. On a virtual machine a fault costs
// microseconds (about 14 us of CPU on the one this was measured on), which made faulting the
// model in cost more than folding it; a 2 MiB page takes one fault where 512 pages took 512.
//
// jemalloc is the process's allocator wherever RocksDB's Debian package is linked; its control
// interface (mallctl) is looked up at run time, never linked, and without it (another
// allocator, a prefixed build) or when the arena cannot be made, the scope does nothing: the
// same allocations, in ordinary pages.
//
// Memory allocated inside a scope stays in that arena when freed (from any thread) and is
// reused by later scopes. Thread safety: scopes may be opened on any threads, one at a time per
// thread; the arena is made once per process.
#pragma once

namespace kakehashi {

class huge_page_scope {
 public:
  huge_page_scope();
  ~huge_page_scope();  // the thread allocates where it did before
  huge_page_scope(const huge_page_scope&) = delete;
  huge_page_scope& operator=(const huge_page_scope&) = delete;

  // Whether this thread's allocations now go to the huge-page arena.
  bool active() const { return active_; }

 private:
  bool active_ = false;
  unsigned previous_arena_ = 0;
};

}  // namespace kakehashi
