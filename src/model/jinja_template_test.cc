#include "model/jinja_template.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "base/file.h"

namespace aftune {
namespace {

using jinja::Dict;
using jinja::Value;

std::string TempDir(const std::string& tag) {
  std::string dir =
      (std::filesystem::temp_directory_path() / ("aftune-jinja-" + tag + "-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

Result<std::string> Render(const std::string& src, const Dict& vars = {}) {
  AFTUNE_ASSIGN_OR_RETURN(JinjaTemplate t, JinjaTemplate::Parse(src));
  AFTUNE_ASSIGN_OR_RETURN(JinjaRendered r, t.Render(vars));
  return r.text;
}

std::string Ok(const std::string& src, const Dict& vars = {}) {
  Result<std::string> r = Render(src, vars);
  EXPECT_TRUE(r.ok()) << src << "\n" << r.status().ToString();
  return r.ok() ? *r : "";
}

std::string Err(const std::string& src, const Dict& vars = {}) {
  Result<std::string> r = Render(src, vars);
  EXPECT_FALSE(r.ok()) << src << " rendered " << (r.ok() ? *r : "");
  return r.ok() ? "" : r.status().message();
}

// Index of the first differing byte, for readable failures.
size_t FirstDiff(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

// The real chat templates of tests/data/templates/ (and aftune-features.jinja,
// which uses every construct the interpreter has) over every conversation of
// cases.json, with and without the generation prompt, rendered by
// python3-jinja2 under transformers' settings: byte-identical text, or an
// error on both sides.
TEST(JinjaOracle, RealTemplatesRenderAsTransformersDoes) {
  if (std::system(AFTUNE_PYTHON " -c 'import jinja2' 2>/dev/null") != 0) {
    GTEST_SKIP() << "python3-jinja2 missing (scripts/bootstrap.sh installs it)";
  }
  const std::string data = std::string(AFTUNE_SOURCE_DIR) + "/tests/data/templates";
  const std::string out = TempDir("oracle") + "/out.json";
  const std::string cmd = std::string(AFTUNE_PYTHON) + " " + AFTUNE_SOURCE_DIR + "/tests/oracle/chat_template_ref.py " +
                          data + "/cases.json " + out;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto cases = nlohmann::ordered_json::parse(*ReadFile(data + "/cases.json"));
  auto want = nlohmann::ordered_json::parse(*ReadFile(out));
  JinjaRenderOptions opt;
  opt.now_unix = cases["now_unix"].get<int64_t>();
  size_t k = 0, errors = 0;
  for (auto& [name, t] : cases["templates"].items()) {
    Result<std::string> src = ReadFile(data + "/" + t["file"].get<std::string>());
    ASSERT_TRUE(src.ok()) << src.status().ToString();
    Result<JinjaTemplate> tmpl = JinjaTemplate::Parse(*src);
    ASSERT_TRUE(tmpl.ok()) << name << ": " << tmpl.status().ToString();
    for (auto& conv : cases["conversations"]) {
      for (bool agp : {false, true}) {
        ASSERT_LT(k, want.size());
        const auto& w = want[k++];
        ASSERT_EQ(w["template"], name);
        ASSERT_EQ(w["conversation"], conv["name"]);
        Dict vars = {{"messages", Value::FromJson(conv["messages"])},
                     {"tools", conv.contains("tools") ? Value::FromJson(conv["tools"]) : Value::None()},
                     {"documents", Value::None()},
                     {"add_generation_prompt", Value::Bool(agp)}};
        for (auto* extra : {&t, &conv}) {
          if (!extra->contains("variables")) continue;
          for (auto& [k2, v] : (*extra)["variables"].items()) vars.emplace_back(k2, Value::FromJson(v));
        }
        Result<JinjaRendered> got = tmpl->Render(vars, opt);
        std::string where = name + " / " + conv["name"].get<std::string>() + (agp ? " / generation prompt" : "");
        if (w.contains("error")) {
          ++errors;
          EXPECT_FALSE(got.ok()) << where << ": jinja2 failed (" << w["error"] << ") but aftune rendered\n"
                                 << got->text;
          continue;
        }
        ASSERT_TRUE(got.ok()) << where << ": " << got.status().ToString();
        const std::string& text = w["text"].get_ref<const std::string&>();
        size_t d = FirstDiff(got->text, text);
        EXPECT_EQ(got->text, text) << where << ": first difference at byte " << d << ": aftune «"
                                   << got->text.substr(d, 60) << "» jinja2 «" << text.substr(d, 60) << "»";
      }
    }
  }
  EXPECT_EQ(k, want.size());
  EXPECT_GT(errors, 0u);  // the oracle's failures (Mistral's role check) are exercised too
}

TEST(JinjaTemplate, TrimAndLstripBlocksAsTransformers) {
  EXPECT_EQ(Ok("a\n  {% if true %}\n  x\n  {% endif %}\nb\n"), "a\n  x\nb");
  EXPECT_EQ(Ok("{% if true %}\nx{% endif %}"), "x");
  EXPECT_EQ(Ok("{% if true +%}\nx{% endif %}"), "\nx");
  EXPECT_EQ(Ok("  {%+ if true %}x{% endif %}"), "  x");
  EXPECT_EQ(Ok("a  {{- 'b' -}}  \n c"), "abc");
  EXPECT_EQ(Ok("x\r\ny\r\n"), "x\ny");
  EXPECT_EQ(Ok("  {# c #}\nz"), "z");
}

TEST(JinjaTemplate, ForLoopScopeAndNamespace) {
  // A set inside a loop stays in its iteration; a namespace carries out.
  EXPECT_EQ(Ok("{% set x = 0 %}{% for i in range(3) %}{{ x }}{% set x = x + 1 %}{{ x }}{% endfor %}{{ x }}"),
            "0101010");
  EXPECT_EQ(Ok("{% set ns = namespace(n=0) %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"),
            "6");
  EXPECT_EQ(Ok("{% for i in [1,2,3] if i != 2 %}{{ loop.index }}:{{ i }}/{{ loop.length }} {% endfor %}"),
            "1:1/2 2:3/2 ");
  EXPECT_EQ(Ok("{% for i in [] %}x{% else %}empty{% endfor %}"), "empty");
}

TEST(JinjaTemplate, PythonValueSemantics) {
  EXPECT_EQ(Ok("{{ 1.0 }} {{ 1e-5 }} {{ 1e20 }} {{ 0.1 + 0.2 }} {{ 3 / 2 }} {{ -7 // 2 }} {{ -7 % 3 }}"),
            "1.0 1e-05 1e+20 0.30000000000000004 1.5 -4 2");
  EXPECT_EQ(Ok("{{ none }} {{ true }} {{ [1, 'a', none] }} {{ {'a': 1} }}"), "None True [1, 'a', None] {'a': 1}");
  EXPECT_EQ(Ok("{{ 'h\xC3\xA9llo'[1] }}{{ 'h\xC3\xA9llo' | length }}{{ 'ab\xC3\xA9'[::-1] }}"),
            "\xC3\xA9"
            "5"
            "\xC3\xA9"
            "ba");
  EXPECT_EQ(Ok("{{ x }}|{{ x | length }}|{{ x is defined }}"), "|0|False");
}

TEST(JinjaTemplate, ErrorsNameTheTemplateLine) {
  EXPECT_EQ(Err("ok\n{% include 'x' %}"), "template line 2: unsupported or unexpected statement 'include'");
  EXPECT_EQ(Err("\n\n{{ x | nosuchfilter }}"), "template line 3: no filter named 'nosuchfilter'");
  EXPECT_EQ(Err("{{ 1 is nosuchtest }}"), "template line 1: no test named 'nosuchtest'");
  EXPECT_EQ(Err("{% if true %}never closed"),
            "template line 1: unexpected end of template, expected 'elif' or "
            "'else' or 'endif'");
  EXPECT_EQ(Err("line\n{{ 'unterminated }}"), "template line 2: string literal is never closed");
  EXPECT_EQ(Err("{{ 'a' + 1 }}"), "template line 1: can only concatenate str (not \"int\") to str");
  EXPECT_EQ(Err("\n{{ raise_exception('roles must alternate') }}"),
            "template line 2: raise_exception: roles must alternate");
  EXPECT_EQ(Err("{{ m.a.b }}", {{"m", Value::MakeDict({})}}), "template line 1: 'dict object' has no attribute 'a'");
  EXPECT_EQ(Err("{{ y.z }}"), "template line 1: 'y' is undefined");
  EXPECT_EQ(Err("{% set l = [1] %}{{ l.append(2) }}"),
            "template line 1: access to attribute 'append' of 'list' object is unsafe.");
  EXPECT_EQ(Err("{% for x in y recursive %}{% endfor %}"), "template line 1: recursive for loops are not supported");
  EXPECT_EQ(Err("{% break %}"), "template line 1: 'break' outside a for loop");
}

TEST(JinjaTemplate, UntrustedTemplatesAreBounded) {
  EXPECT_EQ(Err("{{ range(100001) | length }}"),
            "template line 1: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  EXPECT_NE(Err("{% set s = 'x' * 1000000 %}{% for i in range(100) %}{{ s }}{% endfor %}").find("output too long"),
            std::string::npos);
  EXPECT_NE(Err("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}").find("macros nested too deeply"),
            std::string::npos);
  EXPECT_NE(Err("{{ " + std::string(500, '(') + "1" + std::string(500, ')') + " }}").find("nested too deeply"),
            std::string::npos);
}

TEST(JinjaTemplate, GenerationBlocksMarkTheirSpans) {
  Result<JinjaTemplate> t =
      JinjaTemplate::Parse("a{% generation %}bc{% endgeneration %}d{% generation %}e{% endgeneration %}");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  Result<JinjaRendered> r = t->Render({});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->text, "abcde");
  using Spans = std::vector<std::pair<size_t, size_t>>;
  EXPECT_EQ(r->generation_spans, (Spans{{1, 3}, {4, 5}}));
}

}  // namespace
}  // namespace aftune
