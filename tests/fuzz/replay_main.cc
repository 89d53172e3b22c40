// Replays a fuzz target's seed corpus without libFuzzer, so the normal (gcc) build and the
// sanitizer builds run every committed input, crash regressions included, under CTest.
// KAKEHASHI_FUZZ_CORPUS names the target's corpus directory; every file in it is one input.
//   KAKEHASHI_FUZZ_REPLAY=path/to/crash-input build/tests/fuzz/kakehashi_fuzz_TARGET_replay
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

TEST_CASE("every seed and regression input of the corpus runs cleanly") {
  namespace fs = std::filesystem;
  // KAKEHASHI_FUZZ_REPLAY (a file or a directory) replays other inputs, such as a crash found
  // by scripts/fuzz, in this build (gcc, or a sanitizer build).
  const char* other = std::getenv("KAKEHASHI_FUZZ_REPLAY");
  const fs::path corpus = other && *other ? fs::path(other) : fs::path(KAKEHASHI_FUZZ_CORPUS);
  std::vector<fs::path> files;
  if (fs::is_regular_file(corpus)) {
    files.push_back(corpus);
  } else {
    for (const auto& entry : fs::directory_iterator(corpus))
      if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  REQUIRE_MESSAGE(!files.empty(), "no corpus files in " << corpus.string());

  if (LLVMFuzzerInitialize) {
    int argc = 0;
    char** argv = nullptr;
    LLVMFuzzerInitialize(&argc, &argv);
  }
  for (const auto& file : files) {
    INFO("corpus file: " << file.string());
    std::ifstream in(file, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // A copy of exactly the input's size, as libFuzzer passes it, so ASan sees reads past it.
    std::vector<std::uint8_t> input(bytes.begin(), bytes.end());
    CHECK(LLVMFuzzerTestOneInput(input.data(), input.size()) == 0);
  }
  MESSAGE(files.size() << " inputs replayed");
}
