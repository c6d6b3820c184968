#include "cli/args.h"

#include <algorithm>

namespace bertrain::cli {

std::string flag(const std::string& snake_name) {
  std::string kebab = snake_name;
  std::replace(kebab.begin(), kebab.end(), '_', '-');
  if (kebab == snake_name) return "--" + snake_name;
  return "--" + snake_name + ",--" + kebab;
}

}  // namespace bertrain::cli
