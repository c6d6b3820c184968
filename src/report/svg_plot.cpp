#include "report/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace bertrain {

namespace {

constexpr double kPlotWidth = 440, kPlotHeight = 320;
constexpr double kLeft = 80, kTop = 50, kBottom = 70;  // margins; the right one fits the legend
constexpr double kNoteLine = 15;
const char* const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                               "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A tick label: no trailing zeros, thousands without exponent.
std::string tick_label(double v) {
  char buf[32];
  if (std::fabs(v) >= 100 || v == std::floor(v))
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// 4-7 "nice" ticks (1, 2, 5 x 10^k) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi) {
  if (hi <= lo) hi = lo + 1;
  double raw = (hi - lo) / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::floor(lo / step) * step;; t += step) {
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
    if (t >= hi - step * 1e-9) break;  // the last tick is at or above hi
  }
  return ticks;
}

}  // namespace

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_svg(const LinePlot& p) {
  // The y range: 0 to the largest value (or reference line), so bars of memory read honestly.
  double hi = 0;
  for (const PlotSeries& s : p.series)
    for (const auto& v : s.y)
      if (v && std::isfinite(*v)) hi = std::max(hi, *v);
  if (p.reference) hi = std::max(hi, p.reference->y);
  std::vector<double> ticks = nice_ticks(0, hi > 0 ? hi * 1.05 : 1);
  const double y_max = ticks.back();
  size_t longest = 0;
  for (const PlotSeries& s : p.series) longest = std::max(longest, s.name.size());
  const double right = 60 + 7.0 * longest;  // legend swatch + text at about 7 px a character
  const double width = kPlotWidth + kLeft + right;
  const double plot_w = kPlotWidth, plot_h = kPlotHeight;
  const double height = kTop + plot_h + kBottom + kNoteLine * p.notes.size();
  const size_t n = p.x_categories.size();
  auto x_at = [&](size_t i) { return kLeft + plot_w * (n > 1 ? (i + 0.5) / n : 0.5); };
  auto y_at = [&](double v) { return kTop + plot_h * (1 - v / y_max); };

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << width << ' ' << height
    << "\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n";
  o << "<title>" << xml_escape(p.title) << "</title>\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text class=\"title\" x=\"" << num(kLeft + plot_w / 2) << "\" y=\"28\" font-size=\"15\" "
    << "text-anchor=\"middle\">" << xml_escape(p.title) << "</text>\n";

  // Grid, y ticks and labels.
  o << "<g class=\"y-axis\">\n";
  for (double t : ticks) {
    o << "<line x1=\"" << num(kLeft) << "\" x2=\"" << num(kLeft + plot_w) << "\" y1=\""
      << num(y_at(t)) << "\" y2=\"" << num(y_at(t)) << "\" stroke=\"#e0e0e0\"/>\n";
    o << "<text x=\"" << num(kLeft - 8) << "\" y=\"" << num(y_at(t) + 4)
      << "\" text-anchor=\"end\">" << tick_label(t) << "</text>\n";
  }
  o << "<text class=\"axis-label\" transform=\"translate(20," << num(kTop + plot_h / 2)
    << ") rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">" << xml_escape(p.y_label)
    << "</text>\n</g>\n";

  // x ticks and labels.
  o << "<g class=\"x-axis\">\n";
  for (size_t i = 0; i < n; ++i) {
    o << "<line x1=\"" << num(x_at(i)) << "\" x2=\"" << num(x_at(i)) << "\" y1=\""
      << num(kTop + plot_h) << "\" y2=\"" << num(kTop + plot_h + 5) << "\" stroke=\"black\"/>\n";
    o << "<text x=\"" << num(x_at(i)) << "\" y=\"" << num(kTop + plot_h + 20)
      << "\" text-anchor=\"middle\">" << xml_escape(p.x_categories[i]) << "</text>\n";
  }
  o << "<text class=\"axis-label\" x=\"" << num(kLeft + plot_w / 2) << "\" y=\""
    << num(kTop + plot_h + 45) << "\" text-anchor=\"middle\" font-size=\"13\">"
    << xml_escape(p.x_label) << "</text>\n</g>\n";
  o << "<path d=\"M" << num(kLeft) << ' ' << num(kTop) << " V" << num(kTop + plot_h) << " H"
    << num(kLeft + plot_w) << "\" fill=\"none\" stroke=\"black\"/>\n";

  for (size_t i = 0; i < n && i < p.x_annotations.size(); ++i)
    if (!p.x_annotations[i].empty())
      o << "<text class=\"annotation\" x=\"" << num(x_at(i)) << "\" y=\"" << num(kTop + plot_h - 8)
        << "\" text-anchor=\"middle\" fill=\"#b00\" font-weight=\"bold\">"
        << xml_escape(p.x_annotations[i]) << "</text>\n";

  if (p.reference) {
    double y = y_at(p.reference->y);
    o << "<g class=\"reference\"><line x1=\"" << num(kLeft) << "\" x2=\"" << num(kLeft + plot_w)
      << "\" y1=\"" << num(y) << "\" y2=\"" << num(y)
      << "\" stroke=\"#555\" stroke-dasharray=\"6 4\"/>\n<text x=\"" << num(kLeft + plot_w - 4)
      << "\" y=\"" << num(y - 5) << "\" text-anchor=\"end\" fill=\"#555\">"
      << xml_escape(p.reference->label) << "</text></g>\n";
  }

  // Series: a polyline through consecutive present points, a marker on each.
  for (size_t s = 0; s < p.series.size(); ++s) {
    const PlotSeries& ser = p.series[s];
    const char* color = kColors[s % std::size(kColors)];
    o << "<g class=\"series\" stroke=\"" << color << "\" fill=\"" << color << "\">\n";
    std::string pts;
    auto flush = [&] {
      if (pts.find(' ') != std::string::npos)
        o << "<polyline fill=\"none\" stroke-width=\"2\" points=\"" << pts << "\"/>\n";
      pts.clear();
    };
    for (size_t i = 0; i < n && i < ser.y.size(); ++i) {
      if (!ser.y[i] || !std::isfinite(*ser.y[i])) {
        flush();
        continue;
      }
      double x = x_at(i), y = y_at(*ser.y[i]);
      if (!pts.empty()) pts += ' ';
      pts += num(x) + "," + num(y);
      o << "<circle cx=\"" << num(x) << "\" cy=\"" << num(y) << "\" r=\"3.5\"/>\n";
    }
    flush();
    o << "</g>\n";
  }

  // Legend, right of the plot.
  o << "<g class=\"legend\">\n";
  const double lx = kLeft + plot_w + 20;
  for (size_t s = 0; s < p.series.size(); ++s) {
    const char* color = kColors[s % std::size(kColors)];
    double ly = kTop + 10 + 20.0 * s;
    o << "<line x1=\"" << num(lx) << "\" x2=\"" << num(lx + 22) << "\" y1=\"" << num(ly)
      << "\" y2=\"" << num(ly) << "\" stroke=\"" << color << "\" stroke-width=\"2\"/>\n";
    o << "<circle cx=\"" << num(lx + 11) << "\" cy=\"" << num(ly) << "\" r=\"3.5\" fill=\"" << color
      << "\"/>\n";
    o << "<text x=\"" << num(lx + 30) << "\" y=\"" << num(ly + 4) << "\">"
      << xml_escape(p.series[s].name) << "</text>\n";
  }
  o << "</g>\n";
  for (size_t i = 0; i < p.notes.size(); ++i)
    o << "<text class=\"note\" x=\"" << num(kLeft) << "\" y=\""
      << num(kTop + plot_h + kBottom + kNoteLine * i + 4) << "\" font-size=\"11\" fill=\"#555\">"
      << xml_escape(p.notes[i]) << "</text>\n";
  o << "</svg>\n";
  return o.str();
}

}  // namespace bertrain
