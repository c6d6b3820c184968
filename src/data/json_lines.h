// JSON lines, as the data readers of the heads take them: each non-blank line one JSON value,
// parsed; a line that is not JSON is an error naming the file and line.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace bertrain {

// Calls f(value, "path:line", line) for each non-blank line of `text` (read from `path`) until f
// returns false.
void for_each_json_line(
    const std::string& path, const std::string& text,
    const std::function<bool(const nlohmann::json&, const std::string&, size_t)>& f);

}  // namespace bertrain
