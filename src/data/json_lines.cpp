#include "data/json_lines.h"

#include <sstream>

#include "core/error.h"

namespace bertrain {

void for_each_json_line(
    const std::string& path, const std::string& text,
    const std::function<bool(const nlohmann::json&, const std::string&, size_t)>& f) {
  std::istringstream in(text);
  size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r\n\v\f") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail(where, ": not valid JSON (", e.what(), ")");
    }
    if (!f(j, where, line_no)) return;
  }
}

}  // namespace bertrain
