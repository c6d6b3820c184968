// Hugging Face Trainer's log lines: Python dict reprs such as
// {'loss': 0.0028, 'grad_norm': 0.41, 'learning_rate': 1.17e-06, 'epoch': 0.98}.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace bertrain {

// Python's repr() of a float: the shortest string that reads back to the same double,
// fixed notation for exponents in [-4, 16), else scientific with a 2-digit exponent.
std::string py_float(double v);
// Python's round(v, digits) (to the nearest double of the decimal result).
double py_round(double v, int digits);

using LogEntry = std::vector<std::pair<std::string, double>>;
// "{'loss': 0.0028, 'epoch': 0.98}"; keys named "step"/"*_steps" print as integers.
std::string py_dict(const LogEntry& entry);

}  // namespace bertrain
