// A deliberate data race, built only in the ThreadSanitizer build: TSan must report it. This
// shows that the setup (LLVM OpenMP with Archer, uninstrumented libraries ignored;
// docs/RELIABILITY.md) still sees races inside our OpenMP loops and between std::threads, so
// the quiet run of the other tests means something.
#include <cstring>
#include <thread>

#include "core/parallel.h"

int shared_counter = 0;  // not atomic, on purpose

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "threads") == 0) {
    std::thread t([] { ++shared_counter; });
    ++shared_counter;
    t.join();
  } else {
    bertrain::set_num_threads(2);
    bertrain::parallel_for(int64_t{1} << 16, [](int64_t) { ++shared_counter; });
  }
  return shared_counter == 0;
}
