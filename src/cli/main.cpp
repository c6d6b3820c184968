// bertrain: fine-tune BERT-family encoders for text classification.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.h"
#include "core/allocator.h"
#include "core/error.h"
#include "dist/comm.h"
#include "train/trainer.h"

// An error on one rank of an MPI job ends them all with its exit code.
static int fail_job(int code) {
  bertrain::Comm& world = bertrain::world();
  if (world.size() > 1) {
    std::fflush(stderr);
    world.abort(code);
  }
  return code;
}

int main(int argc, char** argv) {
  CLI::App app{"bertrain: fine-tune BERT encoders for text classification, in C++", "bertrain"};
  app.require_subcommand(1);
  bertrain::cli::add_init_command(app);
  bertrain::cli::add_parity_command(app);
  bertrain::cli::add_tokenize_command(app);
  bertrain::cli::add_train_command(app);
  bertrain::cli::add_evaluate_command(app);
  bertrain::cli::add_predict_command(app);
  bertrain::cli::add_memory_commands(app);
  bertrain::cli::add_sweep_command(app);
  try {
    std::vector<std::string> args = bertrain::cli::expand_config_file(argc, argv);
    std::reverse(args.begin(), args.end());  // CLI11 takes them last-first
    app.parse(args);
  } catch (const CLI::ExtrasError& e) {
    int rc = app.exit(e);
    for (const std::string& extra : app.remaining(true)) {
      if (extra.rfind("--", 0) != 0) continue;
      std::string hint = bertrain::cli::suggest_flag(app, extra);
      if (!hint.empty()) std::fprintf(stderr, "%s: %s\n", extra.c_str(), hint.c_str());
    }
    return rc;
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const bertrain::OutOfMemoryError& e) {
    std::fprintf(stderr, "error: out of memory: %s\n", e.what());
    return fail_job(bertrain::kExitOutOfMemory);
  } catch (const bertrain::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return fail_job(1);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return fail_job(1);
  }
  return 0;
}
