#include "protocol/record_parse.h"

#include <gtest/gtest.h>

#include "protocol/trace_record.h"

namespace aftune {
namespace {

Hash Filled(uint8_t b) {
  Hash h;
  h.fill(b);
  return h;
}

std::string Step() {
  StepRecordData d;
  d.report.step = 3;
  d.report.epoch = 1;
  d.report.indices = {4, 0};
  d.report.loss = 1.5f;
  d.report.tokens = 9;
  d.report.scored_tokens = 7;
  d.boundaries = {{{Filled(1), Filled(2)}}};
  d.grad_sumsq = {{{"a.weight", 0.25}}, {{"b.weight", 1.0}}};
  return StepRecord(d);
}

std::string Block() { return BlockStateRecord(2, 1, {2, 4}, Filled(7), 6); }
std::string Header() { return HeaderRecord(Filled(9), {{0, 2}, {2, 4}}, 8, 2); }

// `record` with `extra` inserted right after its opening brace.
std::string With(const std::string& record, const std::string& extra) { return "{" + extra + "," + record.substr(1); }

void ExpectCorrupt(const Status& st, const std::string& needle) {
  EXPECT_EQ(st.code(), Status::Code::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find("trace line 5: "), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
}

TEST(RecordParse, ReadsWhatTheWriterWrites) {
  Result<ParsedStepRecord> s = ParseStepRecord(Step(), 5);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->step, 3);
  EXPECT_EQ(s->indices, (std::vector<int64_t>{4, 0}));
  EXPECT_EQ(s->loss.value(), 1.5f);
  ASSERT_EQ(s->boundaries.size(), 1u);
  EXPECT_EQ(s->boundaries[0][0].gradient, Filled(2));
  EXPECT_EQ(s->grad_sumsq[1].at("b.weight"), std::bit_cast<uint64_t>(1.0));
  Result<ParsedBlockState> b = ParseBlockStateRecord(Block(), 5);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->state, Filled(7));
  EXPECT_EQ(b->layers.end, 4);
  Result<ParsedTraceHeader> h = ParseTraceHeaderRecord(Header(), 5);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->contract, Filled(9));
  EXPECT_EQ(h->layer_blocks.size(), 2u);
  EXPECT_EQ(h->steps, 8);
  EXPECT_EQ(h->steps_per_block, 2);
}

TEST(RecordParse, RefusesARepeatedKeyNamingIt) {
  ExpectCorrupt(ParseStepRecord(With(Step(), "\"step\":3"), 5).status(), "key 'step' appears twice");
  ExpectCorrupt(ParseBlockStateRecord(With(Block(), "\"state\":\"00\""), 5).status(), "key 'state' appears twice");
  ExpectCorrupt(ParseTraceHeaderRecord(With(Header(), "\"steps\":8"), 5).status(), "key 'steps' appears twice");
  std::string nested = Step();
  nested.replace(nested.find("{\"a.weight\""), 1, "{\"a.weight\":\"0000000000000000\",");
  ExpectCorrupt(ParseStepRecord(nested, 5).status(), "key 'grad_sumsq[0].a.weight' appears twice");
}

TEST(RecordParse, RefusesAnUnknownKeyNamingIt) {
  ExpectCorrupt(ParseStepRecord(With(Step(), "\"aa\":1"), 5).status(), "unknown key 'aa'");
  ExpectCorrupt(ParseBlockStateRecord(With(Block(), "\"note\":\"x\""), 5).status(), "unknown key 'note'");
  ExpectCorrupt(ParseTraceHeaderRecord(With(Header(), "\"extra\":[]"), 5).status(), "unknown key 'extra'");
  std::string f32 = Step();
  f32.replace(f32.find("\"loss\":{"), 8, "\"loss\":{\"x\":0,");
  ExpectCorrupt(ParseStepRecord(f32, 5).status(), "unknown key 'loss.x'");
}

TEST(RecordParse, RefusesMalformedRecords) {
  ExpectCorrupt(ParseStepRecord("[1]", 5).status(), "not a JSON object");
  ExpectCorrupt(ParseStepRecord(Step().substr(0, 20), 5).status(), "not valid JSON");
  ExpectCorrupt(ParseStepRecord(Block(), 5).status(), "'kind' is not \"step\"");
  ExpectCorrupt(ParseBlockStateRecord(std::string(20, '[') + std::string(20, ']'), 5).status(), "levels deep");
  std::string format = Header();
  format.replace(format.find("trace v1"), 8, "trace v2");
  ExpectCorrupt(ParseTraceHeaderRecord(format, 5).status(), "'format'");
  std::string no_value = Step();
  const size_t at = no_value.find(",\"value\":", no_value.find("\"loss\""));
  no_value.replace(at, no_value.find('}', at) - at, "");
  ExpectCorrupt(ParseStepRecord(no_value, 5).status(), "'loss.value' is not a number");
}

TEST(RecordParse, RefusesAnotherTextOfTheSameFields) {
  const std::string canonical = "not the canonical text";
  std::string spaced = Block();
  spaced.insert(1, " ");
  ExpectCorrupt(ParseBlockStateRecord(spaced, 5).status(), canonical);
  std::string value = Step();
  value.replace(value.find("\"value\":1.5"), 11, "\"value\":2.5");  // bits still say 1.5
  ExpectCorrupt(ParseStepRecord(value, 5).status(), canonical);
  std::string negative = Block();
  negative.replace(negative.find("\"tensors\":6"), 11, "\"tensors\":-6");
  ExpectCorrupt(ParseBlockStateRecord(negative, 5).status(), "'tensors' is negative");
  std::string gap = Header();
  gap.replace(gap.find("[2,4]"), 5, "[3,4]");
  ExpectCorrupt(ParseTraceHeaderRecord(gap, 5).status(), "contiguous");
  std::string nan = Step();
  nan.replace(nan.find("\"bits\":\"3fc00000\""), 17, "\"bits\":\"7fc00000\"");
  ExpectCorrupt(ParseStepRecord(nan, 5).status(), "'loss' is not finite");
}

}  // namespace
}  // namespace aftune
