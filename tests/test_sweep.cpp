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
#include "sweep/report.h"
#include "sweep/sweep.h"
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

// A point of each task, as its run directory leaves it (all_results.json, and the log history
// of two epochs in trainer_state.json), collected and reported: the eval columns follow the
// metrics the task reports, per epoch in Markdown and final in CSV, one plot per metric.
static json task_point(const std::string& dir, const std::string& bs, const json& epoch1,
                       const json& epoch2) {
  fs::create_directories(dir + "/run");
  json results = {{"train_runtime", 1.5},
                  {"train_samples_per_second", 10.0},
                  {"train_loss", 0.5},
                  {"peak_memory_bytes", 2e6},
                  {"per_device_train_batch_size", std::stoi(bs)}};
  results.update(epoch2);
  test::write_text(dir + "/run/all_results.json", results.dump());
  json e1 = epoch1, e2 = epoch2;
  e1["epoch"] = 1.0;
  e2["epoch"] = 2.0;
  json history = {{{"loss", 0.7}, {"epoch", 0.5}}, e1, e2};
  test::write_text(dir + "/run/trainer_state.json", json{{"log_history", history}}.dump());
  GridPoint point{{{"per_device_train_batch_size", bs}}, "bs" + bs};
  return collect_point(point, dir + "/run", 0, 2.0, 1 << 20);
}

static json task_results(const std::string& dir, const json& epoch1, const json& epoch2) {
  json points = {task_point(dir + "/a", "4", epoch1, epoch2),
                 task_point(dir + "/b", "8", epoch1, epoch2)};
  return {{"grid", {{{"key", "per_device_train_batch_size"}, {"values", {"4", "8"}}}}},
          {"points", points}};
}

TEST(SweepReport, EvalColumnsFollowTheTasksMetrics) {
  const std::string dir = test::temp_dir("sweep_metrics");
  struct Case {
    const char* task;
    json epoch1, epoch2;
    std::vector<std::string> columns;  // the eval columns, in order
    std::string cell;                  // the first eval cell of the Markdown row
    std::vector<std::string> plots;
  };
  const std::vector<Case> cases = {
      {"single_label",
       {{"eval_loss", 1.2}, {"eval_accuracy", 0.5}, {"eval_f1_micro", 0.5}, {"eval_f1_macro", 0.3}},
       {{"eval_loss", 1.1},
        {"eval_accuracy", 0.55},
        {"eval_f1_micro", 0.55},
        {"eval_f1_macro", 0.4}},
       {"Eval Accuracy"},
       "0.5000 / 0.5500",
       {"accuracy.svg"}},
      {"ner",
       {{"eval_precision", 0.2}, {"eval_recall", 0.1}, {"eval_f1", 0.125}, {"eval_accuracy", 0.9}},
       {{"eval_precision", 0.3}, {"eval_recall", 0.2}, {"eval_f1", 0.25}, {"eval_accuracy", 0.92}},
       {"Eval Accuracy", "Eval F1"},
       "0.9000 / 0.9200",
       {"accuracy.svg", "f1.svg"}},
      {"qa",
       {{"eval_exact_match", 1.15}, {"eval_f1", 8.28}},
       {{"eval_exact_match", 0.64}, {"eval_f1", 6.05}},
       {"Eval EM", "Eval F1"},
       "1.1500 / 0.6400",
       {"exact_match.svg", "f1.svg"}},
      {"multi_label",
       {{"eval_f1_micro", 0.1}, {"eval_f1_macro", 0.05}, {"eval_subset_accuracy", 0.3}},
       {{"eval_f1_micro", 0.2}, {"eval_f1_macro", 0.1}, {"eval_subset_accuracy", 0.4}},
       {"Eval F1 (micro)", "Eval Subset Accuracy"},
       "0.1000 / 0.2000",
       {"f1_micro.svg", "subset_accuracy.svg"}},
      {"regression",
       {{"eval_mse", 0.9}, {"eval_pearson", 0.7}, {"eval_spearmanr", 0.6}},
       {{"eval_mse", 0.7}, {"eval_pearson", 0.81}, {"eval_spearmanr", 0.7}},
       {"Eval Pearson", "Eval MSE"},
       "0.7000 / 0.8100",
       {"pearson.svg", "mse.svg"}},
      {"mlm",
       {{"eval_loss", 6.3}, {"eval_accuracy", 0.09}, {"eval_perplexity", 545.0}},
       {{"eval_loss", 5.9}, {"eval_accuracy", 0.12}, {"eval_perplexity", 365.0}},
       {"Eval Accuracy", "Eval Perplexity"},
       "0.0900 / 0.1200",
       {"accuracy.svg", "perplexity.svg"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.task);
    const std::string out = dir + "/" + c.task;
    json results = task_results(out, c.epoch1, c.epoch2);
    ResultsTable md = results_table(results, false), csv = results_table(results, true);
    const size_t first = 7;  // the knob, then six columns before the metrics
    ASSERT_EQ(md.header.size(), first + c.columns.size());
    ASSERT_EQ(csv.header.size(), first + c.columns.size() + 1);  // + Status
    for (size_t i = 0; i < c.columns.size(); ++i) {
      EXPECT_EQ(md.header[first + i], c.columns[i] + " (per epoch)");
      EXPECT_EQ(csv.header[first + i], c.columns[i]);
    }
    EXPECT_EQ(md.rows[0][first], c.cell);
    const std::string final_value = c.cell.substr(c.cell.rfind(' ') + 1);
    EXPECT_EQ(csv.rows[0][first], final_value);
    EXPECT_NE(point_summary(results["points"][0]).find(final_value), std::string::npos);
    write_reports(results, out);
    for (const std::string& plot : c.plots) {
      ASSERT_TRUE(fs::exists(out + "/" + plot)) << plot;
      SvgFacts f = read_svg(read_text_file(out + "/" + plot));
      EXPECT_EQ(f.legend.size(), 2u) << plot;
      EXPECT_EQ(f.circles_outside, 0) << plot;
    }
  }
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
