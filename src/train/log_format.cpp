#include "train/log_format.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace bertrain {

std::string py_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // e.g. "-1.17e-06", shortest round-trip digits
  size_t e = sci.find('e');
  int exponent = std::atoi(sci.c_str() + e + 1);
  std::string mantissa = sci.substr(0, e);
  bool negative = mantissa[0] == '-';
  std::string digits;
  for (char c : mantissa)
    if (c >= '0' && c <= '9') digits.push_back(c);
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else {
      size_t int_len = static_cast<size_t>(exponent) + 1;
      if (digits.size() <= int_len) {
        out += digits + std::string(int_len - digits.size(), '0') + ".0";
      } else {
        out += digits.substr(0, int_len) + "." + digits.substr(int_len);
      }
    }
    return out;
  }
  out += digits[0];
  if (digits.size() > 1) {
    out += '.';
    out.append(digits, 1, std::string::npos);
  }
  char exp[16];
  std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exp;
}

double py_round(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return std::strtod(buf, nullptr);
}

static bool is_integer_key(const std::string& k) {
  return k == "step" || k == "total_flos" ||
         (k.size() > 6 && k.compare(k.size() - 6, 6, "_steps") == 0);
}

std::string py_dict(const LogEntry& entry) {
  std::string s = "{";
  for (size_t i = 0; i < entry.size(); ++i) {
    const auto& [key, value] = entry[i];
    s += (i ? ", '" : "'") + key + "': ";
    s += is_integer_key(key) ? std::to_string(static_cast<long long>(value)) : py_float(value);
  }
  return s + "}";
}

}  // namespace bertrain
