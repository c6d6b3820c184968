// Line charts as standalone SVG files a browser shows as they are: labelled axes with units,
// ticks, a legend, one polyline with markers per series. The x axis is categorical (the swept
// values, evenly spaced, in the order given), which suits batch sizes, accumulation steps and
// precisions alike. No dependencies: SVG is text.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace bertrain {

struct PlotSeries {
  std::string name;
  // One value per x category; nullopt leaves a gap (an out-of-memory point, say).
  std::vector<std::optional<double>> y;
};

struct PlotMarkerLine {  // a horizontal reference line, e.g. the memory limit
  double y = 0;
  std::string label;
};

struct LinePlot {
  std::string title;
  std::string x_label;  // with its unit, e.g. "Per-device batch size (samples)"
  std::string y_label;  // with its unit, e.g. "Peak memory (MB)"
  std::vector<std::string> x_categories;
  std::vector<std::string> x_annotations;  // per category, drawn above the axis (e.g. "OOM")
  std::vector<PlotSeries> series;
  std::vector<std::string>
      notes;  // small text under the chart (e.g. which points ran out of memory)
  std::optional<PlotMarkerLine> reference;
};

std::string render_svg(const LinePlot& plot);

// Escapes &, <, >, " for SVG/XML text and attributes.
std::string xml_escape(const std::string& s);

}  // namespace bertrain
