// A deliberate data race, built only in the ThreadSanitizer build: TSan must report it. This
// shows that the setup (LLVM OpenMP with Archer, uninstrumented libraries ignored;
// docs/RELIABILITY.md) still sees races inside our OpenMP loops and between std::threads, so
// the quiet run of the other tests means something.
#include <cstring>
#include <thread>

#include "core/parallel.h"

volatile int shared_counter = 0;  // not atomic, on purpose

// Many unsynchronised increments: with a single one per thread the new thread could run and
// end before the main thread's access, and TSan missed the race in 2 of 6 runs (2026-11-30).
void bump() {
  for (int i = 0; i < 100000; ++i) shared_counter = shared_counter + 1;
}

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "threads") == 0) {
    std::thread t(bump);
    bump();
    t.join();
  } else {
    bertrain::set_num_threads(2);
    bertrain::parallel_for(int64_t{1} << 16, [](int64_t) { shared_counter = shared_counter + 1; });
  }
  return shared_counter == 0;
}
