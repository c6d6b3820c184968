// The memory model against what bertrain allocates, on bert-base-uncased shapes: for each
// configuration, the predicted peak and the peak measured by an in-process trial that
// allocates everything a training step uses (model, gradients, AdamW state, batch buffers,
// activations, temporaries) and, with --steps 1, runs the step. Prints a Markdown table.
//   bench_memory_model [--steps 0] [--max_batch 32]
#include <cstdio>

#include "bench_common.h"
#include "core/parallel.h"
#include "train/batch_finder.h"

using namespace bertrain;

int main(int argc, char** argv) {
  set_num_threads(static_cast<int>(bench::arg(argc, argv, "--threads", 2)));
  const int steps = static_cast<int>(bench::arg(argc, argv, "--steps", 0));
  const int max_batch = static_cast<int>(bench::arg(argc, argv, "--max_batch", 32));
  std::printf(
      "| batch | seq | checkpointing | precision | attention | predicted | measured | diff |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  double worst = 0;
  for (int B : {1, 8, 32}) {
    if (B > max_batch) continue;
    for (int S : {64, 128, 512})
      for (bool ckpt : {false, true})
        for (Precision p : {Precision::FP32, Precision::BF16})
          for (AttentionMode mode : {AttentionMode::Standard, AttentionMode::MemoryEfficient}) {
            MemoryQuery q;
            q.config = preset_config("bert-base-uncased");
            q.config.id2label = {"1", "2", "3", "4", "5"};
            q.batch = B;
            q.seq = S;
            q.checkpointing = ckpt;
            q.precision = p;
            q.attention = mode;
            BatchTrial t = try_batch(q, 0, steps);
            double diff = (static_cast<double>(t.measured_peak_bytes) - t.predicted_bytes) /
                          t.predicted_bytes;
            worst = std::max(worst, std::abs(diff));
            std::printf("| %d | %d | %s | %s | %s | %s | %s | %+.2f%% |\n", B, S,
                        ckpt ? "on" : "off", precision_name(p),
                        mode == AttentionMode::Standard ? "standard" : "memory_efficient",
                        format_bytes(t.predicted_bytes).c_str(),
                        format_bytes(t.measured_peak_bytes).c_str(), 100 * diff);
            std::fflush(stdout);
          }
  }
  std::printf("\nlargest |measured - predicted| / predicted: %.4f%%\n", 100 * worst);
}
