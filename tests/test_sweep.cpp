// bertrain sweep: grid parsing, the SVG plots' structure, and the whole command end to end
// (fresh processes, an out-of-memory point, resume, --plot).
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/file_io.h"
#include "report/svg_plot.h"
#include "sweep/grid.h"
#include "test_util.h"

using namespace bertrain;
namespace fs = std::filesystem;
using json = nlohmann::json;

TEST(SweepGrid, ExpandsEveryCombinationFirstKnobSlowest) {
  auto axes = parse_grid(
      "per_device_train_batch_size=1,2 gradient_checkpointing=0,true precision=fp32,bf16");
  ASSERT_EQ(axes.size(), 3u);
  EXPECT_EQ(axes[1].values, (std::vector<std::string>{"0", "1"}));
  auto points = expand_grid(axes);
  ASSERT_EQ(points.size(), 8u);
  EXPECT_EQ(points[0].name, "bs1_ckpt0_fp32");
  EXPECT_EQ(points[1].name, "bs1_ckpt0_bf16");
  EXPECT_EQ(points[7].name, "bs2_ckpt1_bf16");
  EXPECT_EQ(train_flags(points[7]), (std::vector<std::string>{"--per_device_train_batch_size=2",
                                                              "--gradient_checkpointing=true",
                                                              "--bf16=true", "--fp16=false"}));
  EXPECT_EQ(train_flags(points[0]), (std::vector<std::string>{"--per_device_train_batch_size=1",
                                                              "--gradient_checkpointing=false",
                                                              "--bf16=false", "--fp16=false"}));
}

TEST(SweepGrid, BadGridsNameTheCulprit) {
  EXPECT_NE(test::error_of([] { parse_grid("per_device_train_batch_size"); }).find("key=value"),
            std::string::npos);
  EXPECT_NE(test::error_of([] { parse_grid("precision=fp8"); }).find("fp8"), std::string::npos);
  EXPECT_NE(test::error_of([] { parse_grid("gradient_checkpointing=maybe"); }).find("boolean"),
            std::string::npos);
  EXPECT_NE(test::error_of([] { parse_grid("seed=1 seed=2"); }).find("twice"), std::string::npos);
  EXPECT_NE(test::error_of([] { parse_grid("attention=../../etc"); }).find("../../etc"),
            std::string::npos);
  // Keys are the train flags of training_arg_fields(); booleans are known from it too.
  EXPECT_NE(test::error_of([] { parse_grid("learning_rte=1"); }).find("not a train flag"),
            std::string::npos);
  EXPECT_NE(test::error_of([] { parse_grid("fp16=maybe"); }).find("boolean"), std::string::npos);
  EXPECT_NE(test::error_of([] { parse_grid("  "); }).find("empty"), std::string::npos);
}

// The checks a browser-rendered chart must pass, on the SVG's XML tree: well-formed, an <svg>
// root with a viewBox, a title, both axis labels (with their units), a legend entry per
// series, and every drawn point inside the view box.
struct SvgFacts {
  std::vector<std::string> texts, legend;
  int polylines = 0, circles_outside = 0;
  double width = 0, height = 0;
};

static void walk(xmlNode* node, SvgFacts& f, bool in_legend) {
  for (xmlNode* n = node; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    std::string name = reinterpret_cast<const char*>(n->name);
    auto attr = [&](const char* a) {
      xmlChar* v = xmlGetProp(n, reinterpret_cast<const xmlChar*>(a));
      std::string s = v ? reinterpret_cast<const char*>(v) : "";
      xmlFree(v);
      return s;
    };
    bool legend = in_legend || attr("class") == "legend";
    if (name == "text") {
      xmlChar* c = xmlNodeGetContent(n);
      std::string t = reinterpret_cast<const char*>(c);
      xmlFree(c);
      f.texts.push_back(t);
      if (legend) f.legend.push_back(t);
    }
    if (name == "polyline") ++f.polylines;
    if (name == "circle" && !legend) {
      double cx = std::stod(attr("cx")), cy = std::stod(attr("cy"));
      if (cx < 0 || cy < 0 || cx > f.width || cy > f.height) ++f.circles_outside;
    }
    walk(n->children, f, legend);
  }
}

static SvgFacts read_svg(const std::string& text) {
  xmlDoc* doc = xmlReadMemory(text.data(), static_cast<int>(text.size()), "plot.svg", nullptr,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  EXPECT_NE(doc, nullptr) << "not well-formed XML";
  SvgFacts f;
  if (!doc) return f;
  xmlNode* root = xmlDocGetRootElement(doc);
  EXPECT_STREQ(reinterpret_cast<const char*>(root->name), "svg");
  EXPECT_STREQ(reinterpret_cast<const char*>(root->ns ? root->ns->href : nullptr),
               "http://www.w3.org/2000/svg");
  xmlChar* vb = xmlGetProp(root, reinterpret_cast<const xmlChar*>("viewBox"));
  EXPECT_NE(vb, nullptr);
  if (vb) {
    std::istringstream in(reinterpret_cast<const char*>(vb));
    double x0, y0;
    in >> x0 >> y0 >> f.width >> f.height;
    xmlFree(vb);
  }
  walk(root->children, f, false);
  xmlFreeDoc(doc);
  return f;
}

static bool has_text(const SvgFacts& f, const std::string& needle) {
  for (const std::string& t : f.texts)
    if (t.find(needle) != std::string::npos) return true;
  return false;
}

TEST(SvgPlot, HasAxesUnitsLegendAndPointsInside) {
  LinePlot p;
  p.title = "Throughput <vs> batch & size";
  p.x_label = "Batch Size";
  p.y_label = "Throughput (samples/s)";
  p.x_categories = {"1", "2", "4", "8"};
  p.series = {{"Checkpointing no", {1.0, 2.0, 3.5, std::nullopt}},
              {"Checkpointing yes", {0.8, 1.5, 2.9, 4.0}}};
  p.reference = PlotMarkerLine{5.0, "memory limit"};
  p.notes = {"Out of memory: bs8_ckpt0"};
  SvgFacts f = read_svg(render_svg(p));
  EXPECT_GT(f.width, 0);
  EXPECT_TRUE(has_text(f, "Throughput <vs> batch & size"));
  EXPECT_TRUE(has_text(f, "Batch Size"));
  EXPECT_TRUE(has_text(f, "(samples/s)"));
  EXPECT_TRUE(has_text(f, "memory limit"));
  EXPECT_TRUE(has_text(f, "Out of memory"));
  EXPECT_EQ(f.legend, (std::vector<std::string>{"Checkpointing no", "Checkpointing yes"}));
  EXPECT_EQ(f.polylines, 2);
  EXPECT_EQ(f.circles_outside, 0);
}

// The whole command on the tiny model: a 2 x 2 grid where batch 512 cannot fit the limit.
class SweepCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = test::temp_dir("sweep");
    model = dir + "/model";
    ASSERT_EQ(sh(exe() + " init --preset tiny --num_labels 5 --out " + model), 0);
  }
  static std::string exe() { return BERTRAIN_EXE; }
  static int sh(const std::string& cmd) {
    int rc = std::system((cmd + " > /dev/null 2>&1").c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  std::string sweep_cmd() const {
    return exe() + " sweep --model " + model +
           " --dummy --dummy_size 16 --dummy_seq_len 32 --memory_limit 64MB --out " + dir +
           "/out --grid 'per_device_train_batch_size=4,512 gradient_checkpointing=0,1'";
  }
  std::string dir, model;
};

TEST_F(SweepCommand, RunsTheGridRecordsOomAndWritesEveryReport) {
  ASSERT_EQ(sh(sweep_cmd()), 0);
  const std::string out = dir + "/out";
  json results = json::parse(read_text_file(out + "/results.json"));
  ASSERT_EQ(results["points"].size(), 4u);
  int ok = 0, oom = 0;
  for (const json& p : results["points"]) {
    const std::string bs = p["settings"]["per_device_train_batch_size"];
    EXPECT_EQ(p["status"], bs == "4" ? "ok" : "oom") << p.dump();
    ok += p["status"] == "ok";
    oom += p["status"] == "oom";
    EXPECT_GT(p.value("predicted_peak_memory_bytes", 0.0), 0) << p.dump();
    if (p["status"] == "ok") {
      EXPECT_GT(p["train_samples_per_second"].get<double>(), 0);
      EXPECT_LE(p["peak_memory_bytes"].get<double>(), 64e6);
      EXPECT_EQ(p["peak_memory_bytes"], p["predicted_peak_memory_bytes"]);
      EXPECT_GT(p["utilization"].get<double>(), 0);
      EXPECT_TRUE(std::isfinite(p["train_loss"].get<double>()));
    } else {
      EXPECT_GT(p["predicted_peak_memory_bytes"].get<double>(), 64e6);
    }
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(oom, 2);
  // Same seed and data: checkpointing changes memory, not the loss.
  EXPECT_EQ(results["points"][0]["train_loss"], results["points"][1]["train_loss"]);

  std::string md = read_text_file(out + "/results.md");
  EXPECT_NE(md.find("| Batch Size | Gradient Checkpointing | Time (s) | Samples/s | Memory "
                    "Occupied (MB) | Utilization (%) |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("OOM"), std::string::npos);
  std::string csv = read_text_file(out + "/results.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5);
  EXPECT_EQ(csv.rfind("Batch Size,Gradient Checkpointing,Time (s),Samples/s,", 0), 0u) << csv;
  for (const char* plot : {"samples_per_second.svg", "peak_memory.svg"}) {
    SvgFacts f = read_svg(read_text_file(out + "/" + plot));
    EXPECT_TRUE(has_text(f, "Batch Size")) << plot;
    EXPECT_EQ(f.legend.size(), 2u) << plot;
    EXPECT_TRUE(has_text(f, "Out of memory")) << plot;
    EXPECT_EQ(f.circles_outside, 0) << plot;
  }
  EXPECT_TRUE(has_text(read_svg(read_text_file(out + "/peak_memory.svg")), "(MB)"));
  EXPECT_TRUE(has_text(read_svg(read_text_file(out + "/samples_per_second.svg")), "samples/s"));
}

TEST_F(SweepCommand, ResumesRecordedPointsAndRedrawsWithPlot) {
  ASSERT_EQ(sh(sweep_cmd()), 0);
  const std::string out = dir + "/out";
  json first = json::parse(read_text_file(out + "/results.json"));
  // Forget one point: only it runs again; the others are reused as recorded.
  fs::remove(out + "/points/bs4_ckpt1/point.json");
  const std::string log = dir + "/second.txt";
  ASSERT_EQ(std::system((sweep_cmd() + " > " + log + " 2>&1").c_str()), 0);
  std::string text = read_text_file(log);
  EXPECT_NE(text.find("bs4_ckpt0: already done"), std::string::npos) << text;
  EXPECT_NE(text.find("bs4_ckpt1: running"), std::string::npos) << text;
  json second = json::parse(read_text_file(out + "/results.json"));
  EXPECT_EQ(second["points"][0], first["points"][0]);
  EXPECT_EQ(second["points"][1]["train_loss"], first["points"][1]["train_loss"]);

  fs::remove(out + "/results.md");
  fs::remove(out + "/peak_memory.svg");
  ASSERT_EQ(sh(exe() + " sweep --plot --out " + out), 0);
  EXPECT_TRUE(fs::exists(out + "/results.md"));
  EXPECT_TRUE(fs::exists(out + "/peak_memory.svg"));
}

TEST_F(SweepCommand, RejectsAGridKeyThatIsNotATrainFlag) {
  const std::string log = dir + "/bad.txt";
  int rc = std::system((exe() + " sweep --model " + model +
                        " --dummy --grid 'per_device_train_batchsize=1,2' --out " + dir +
                        "/bad > " + log + " 2>&1")
                           .c_str());
  EXPECT_NE(rc, 0);
  EXPECT_NE(read_text_file(log).find("'per_device_train_batchsize' is not a train flag"),
            std::string::npos);
}
