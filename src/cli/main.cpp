// bertrain: fine-tune BERT-family encoders for text classification.
#include <cstdio>

#include "cli/args.h"
#include "core/error.h"
#include "kernels/cpu/blas_setup.h"

int main(int argc, char** argv) {
  bertrain::cpu::ensure_best_blas_kernels(argv);
  CLI::App app{"bertrain: fine-tune BERT encoders for text classification, in C++", "bertrain"};
  app.require_subcommand(1);
  bertrain::cli::add_init_command(app);
  bertrain::cli::add_parity_command(app);
  bertrain::cli::add_demo_command(app);
  bertrain::cli::add_tokenize_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const bertrain::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
