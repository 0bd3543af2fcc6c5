#include "model/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "base/file.h"

namespace aftune {
namespace {

const char kSource[] = "model.safetensors";

std::string Le64(uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}

// A file built by hand: length field, header text as given, data.
std::string HandFile(const std::string& header, const std::string& data) {
  return Le64(header.size()) + header + data;
}

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

Tensor MakeTensor(std::vector<int64_t> shape, const std::vector<float>& values) {
  Tensor t(std::move(shape));
  EXPECT_EQ(static_cast<size_t>(t.numel()), values.size());
  for (size_t i = 0; i < values.size(); ++i) t[static_cast<int64_t>(i)] = values[i];
  return t;
}

std::string TempPath(const std::string& name) {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("aftune-st-" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

// The worked example at the top of safetensors.cc, byte by byte.
std::string WorkedExample() {
  return Bytes({0x58, 0, 0, 0, 0, 0, 0, 0}) +
         "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
         "\"data_offsets\":[0,8]}}" +
         "   " + Bytes({0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0});
}

TEST(SafetensorsTest, ParsesTheWorkedExample) {
  std::string file = WorkedExample();
  ASSERT_EQ(file.size(), 104u);
  auto r = SafetensorsFile::Parse(file, kSource);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->header_size(), 88u);
  ASSERT_EQ(r->entries().size(), 1u);
  const SafetensorsEntry& e = r->entries()[0];
  EXPECT_EQ(e.name, "a");
  EXPECT_EQ(e.dtype, DType::kF32);
  EXPECT_EQ(e.shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(e.data_begin, 0u);
  EXPECT_EQ(e.data_end, 8u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(e.bytes.data()), e.bytes.size()),
            file.substr(96));
  EXPECT_EQ(r->metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  auto t = r->ToF32(e);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)[0], 1.0f);
  EXPECT_EQ((*t)[1], -2.0f);
}

TEST(SafetensorsTest, WriterProducesTheWorkedExample) {
  std::map<std::string, Tensor> m;
  m.emplace("a", MakeTensor({2}, {1.0f, -2.0f}));
  auto bytes = SerializeSafetensorsF32(m, DType::kF32, {{"format", "pt"}});
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(*bytes, WorkedExample());
}

// Vectors from the reference implementation's own tests
// (huggingface/safetensors, safetensors/src/tensor.rs: test_empty,
// test_serialization, test_serialization_forced_alignement).
TEST(SafetensorsTest, MatchesReferenceImplementationVectors) {
  auto empty = SerializeSafetensorsF32({}, DType::kF32, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, Bytes({8, 0, 0, 0, 0, 0, 0, 0, '{', '}', 32, 32, 32, 32, 32, 32}));

  auto meta = SerializeSafetensorsF32({}, DType::kF32, {{"framework", "pt"}});
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(*meta, Le64(40) + "{\"__metadata__\":{\"framework\":\"pt\"}}     ");

  std::string data;
  for (float f : {0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f}) {
    uint32_t u = Bits(f);
    for (int i = 0; i < 4; ++i) data.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
  }
  std::map<std::string, Tensor> m1;
  m1.emplace("attn.0", MakeTensor({1, 2, 3}, {0, 1, 2, 3, 4, 5}));
  auto s1 = SerializeSafetensorsF32(m1, DType::kF32, {});
  ASSERT_TRUE(s1.ok());
  EXPECT_EQ(*s1, Le64(64) + "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}" + data);

  std::map<std::string, Tensor> m2;
  m2.emplace("attn0", MakeTensor({1, 1, 2, 3}, {0, 1, 2, 3, 4, 5}));
  auto s2 = SerializeSafetensorsF32(m2, DType::kF32, {});
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(*s2, Le64(72) + "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}" +
                     std::string(7, ' ') + data);
  for (const std::string* s : {&*empty, &*meta, &*s1, &*s2}) {
    EXPECT_TRUE(SafetensorsFile::Parse(*s, kSource).ok());
  }
}

// A hand-built file in a form the writer never produces: pretty-printed,
// keys in another order, data not in name order, BF16, F16, I64 and an empty
// tensor.
TEST(SafetensorsTest, ParsesHandBuiltNonCanonicalFile) {
  std::string header =
      "{\n  \"zeta\": {\"data_offsets\": [0, 6], \"shape\": [3], \"dtype\": \"BF16\"},\n"
      "  \"alpha\": {\"shape\": [2, 2], \"dtype\": \"F16\", \"data_offsets\": [6, 14]},\n"
      "  \"empty\": {\"dtype\": \"F32\", \"shape\": [0, 5], \"data_offsets\": [14, 14]},\n"
      "  \"ids\": {\"dtype\": \"I64\", \"shape\": [], \"data_offsets\": [14, 22]},\n"
      "  \"__metadata__\": {\"note\": \"h\\u00e9\"}\n}\n";
  std::string data = Bytes({0x80, 0x3f, 0x00, 0xc0, 0xc0, 0x3f,               // bf16 1, -2, 1.5
                            0x00, 0x3c, 0x00, 0xc0, 0x00, 0x3e, 0x01, 0x00,   // f16 1, -2, 1.5, 2^-24
                            0x07, 0, 0, 0, 0, 0, 0, 0});                       // i64 7
  auto r = SafetensorsFile::Parse(HandFile(header, data), kSource);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->entries().size(), 4u);
  EXPECT_EQ(r->entries()[0].name, "alpha");  // sorted by name
  EXPECT_EQ(r->entries()[1].name, "empty");
  EXPECT_EQ(r->entries()[2].name, "ids");
  EXPECT_EQ(r->entries()[3].name, "zeta");
  EXPECT_EQ(r->metadata().at("note"), "h\xc3\xa9");

  const SafetensorsEntry* zeta = r->Find("zeta");
  ASSERT_NE(zeta, nullptr);
  auto z = r->ToF32(*zeta);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->shape(), (std::vector<int64_t>{3}));
  EXPECT_EQ((*z)[0], 1.0f);
  EXPECT_EQ((*z)[1], -2.0f);
  EXPECT_EQ((*z)[2], 1.5f);

  auto a = r->ToF32(*r->Find("alpha"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)[0], 1.0f);
  EXPECT_EQ((*a)[1], -2.0f);
  EXPECT_EQ((*a)[2], 1.5f);
  EXPECT_EQ((*a)[3], std::ldexp(1.0f, -24));

  auto e = r->ToF32(*r->Find("empty"));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->shape(), (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(e->numel(), 0);

  // The I64 scalar is reachable raw, but not as floats.
  const SafetensorsEntry* ids = r->Find("ids");
  ASSERT_NE(ids, nullptr);
  EXPECT_TRUE(ids->shape.empty());
  EXPECT_EQ(ids->numel(), 1);
  EXPECT_EQ(ids->bytes.size(), 8u);
  EXPECT_EQ(ids->bytes[0], 7);
  auto bad = r->ToF32(*ids);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("model.safetensors: tensor 'ids' has dtype I64, which cannot be loaded as floats"),
            std::string::npos)
      << bad.status().message();
  EXPECT_FALSE(r->AllF32().ok());
  EXPECT_EQ(r->Find("nope"), nullptr);
}

TEST(SafetensorsTest, ViewsSurviveMoves) {
  std::string file = WorkedExample();  // small enough for the short-string buffer when moved
  auto r = SafetensorsFile::Parse(file, kSource);
  ASSERT_TRUE(r.ok());
  SafetensorsFile moved = std::move(r).value();
  SafetensorsFile again = std::move(moved);
  const SafetensorsEntry& e = again.entries()[0];
  EXPECT_EQ(e.bytes.data(), reinterpret_cast<const uint8_t*>(again.file_bytes().data()) + 96);
  EXPECT_EQ(again.ToF32(e)->operator[](1), -2.0f);
}

// Values that stress each conversion: signed zeros, infinities, NaN,
// subnormals, values that round, the extremes.
std::map<std::string, Tensor> AwkwardTensors() {
  std::vector<float> v = {0.0f,
                          -0.0f,
                          1.0f,
                          -1.5f,
                          3.14159265f,
                          1e-3f,
                          65504.0f,
                          65520.0f,  // rounds to inf in f16
                          std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(),
                          FromBits(0x7fc00001u),  // NaN with payload
                          FromBits(0x00000001u),  // smallest f32 subnormal
                          std::ldexp(1.0f, -24),  // smallest f16 subnormal
                          std::numeric_limits<float>::max(),
                          FromBits(0x3f808000u),  // bf16 tie, rounds to even
                          FromBits(0x3f818000u)};  // bf16 tie, rounds up
  std::map<std::string, Tensor> m;
  m.emplace("layers.0.w", MakeTensor({4, 4}, v));
  m.emplace("b", MakeTensor({}, {0.25f}));
  m.emplace("empty", Tensor({3, 0}));
  m.emplace("Z_upper", MakeTensor({1, 2, 1}, {-7.0f, 7.0f}));
  return m;
}

uint32_t Expected(float x, DType storage) {
  if (storage == DType::kBF16) return Bits(BF16ToF32(F32ToBF16(x)));
  if (storage == DType::kF16) return Bits(F16ToF32(F32ToF16(x)));
  return Bits(x);
}

TEST(SafetensorsTest, RoundTripsEveryStorageDType) {
  const std::map<std::string, Tensor> in = AwkwardTensors();
  for (DType storage : {DType::kF32, DType::kBF16, DType::kF16}) {
    SCOPED_TRACE(std::string(DTypeName(storage)));
    const std::string path = TempPath(std::string("rt_") + std::string(DTypeName(storage)) + ".safetensors");
    ASSERT_TRUE(WriteSafetensors(path, in, storage, {{"format", "pt"}, {"k", "v"}}).ok());
    auto bytes = ReadFile(path);
    ASSERT_TRUE(bytes.ok());
    auto file = SafetensorsFile::Parse(*bytes, path);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    EXPECT_EQ((8 + file->header_size()) % 8, 0u);
    EXPECT_EQ(file->metadata().size(), 2u);
    for (const SafetensorsEntry& e : file->entries()) EXPECT_EQ(e.dtype, storage);

    auto out = ReadSafetensorsF32(path);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_EQ(out->size(), in.size());
    for (const auto& [name, t] : in) {
      const Tensor& got = out->at(name);
      ASSERT_EQ(got.shape(), t.shape()) << name;
      for (int64_t i = 0; i < t.numel(); ++i) {
        EXPECT_EQ(Bits(got[i]), Expected(t[i], storage)) << name << "[" << i << "]";
      }
    }
    // Canonical: writing what was read gives the same bytes, and so does
    // re-serializing the raw entries.
    auto again = SerializeSafetensorsF32(*out, storage, file->metadata());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *bytes);
    std::vector<SafetensorsTensorRef> refs;
    for (const SafetensorsEntry& e : file->entries()) {
      refs.push_back({e.name, e.dtype, e.shape,
                      std::string_view(reinterpret_cast<const char*>(e.bytes.data()), e.bytes.size())});
    }
    std::reverse(refs.begin(), refs.end());  // input order must not matter
    auto raw = SerializeSafetensors(refs, file->metadata());
    ASSERT_TRUE(raw.ok());
    EXPECT_EQ(*raw, *bytes);
    std::remove(path.c_str());
  }
}

TEST(SafetensorsTest, EncodeMatchesConversions) {
  Tensor t = MakeTensor({3}, {1.0f, -2.0f, 0.5f});
  EXPECT_EQ(EncodeFloatTensor(t, DType::kF32),
            Bytes({0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0, 0x3f}));
  EXPECT_EQ(EncodeFloatTensor(t, DType::kBF16), Bytes({0x80, 0x3f, 0x00, 0xc0, 0x00, 0x3f}));
  EXPECT_EQ(EncodeFloatTensor(t, DType::kF16), Bytes({0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38}));
  const std::string b = Bytes({0x80, 0x3f});
  auto d = DecodeFloatTensor(DType::kBF16, {1}, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(b.data()), 2));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)[0], 1.0f);
  EXPECT_FALSE(DecodeFloatTensor(DType::kBF16, {2}, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(b.data()), 2)).ok());
  EXPECT_FALSE(DecodeFloatTensor(DType::kI16, {1}, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(b.data()), 2)).ok());
  EXPECT_FALSE(DecodeFloatTensor(DType::kU8, {-2}, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(b.data()), 2)).ok());
}

// PyTorch, an independent implementation of the f32 -> bf16 / f16 rounding,
// writes a file by hand (json + struct); the reader must accept it and the
// writer's encoding of the same floats must equal torch's bytes.
TEST(SafetensorsTest, AgreesWithTorchConversions) {
  if (std::system(AFTUNE_PYTHON " -c 'import torch' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 with torch not available";
  }
  const std::string path = TempPath("torch.safetensors");
  const std::string script = TempPath("make.py");
  {
    std::string py = R"PY(
import json, struct, sys, torch
torch.manual_seed(0)
x = torch.cat([torch.randn(997) * 3, torch.tensor([0.0, -0.0, 1e-8, 6e-5, 65504.0, 65519.0, 65520.0,
               1e30, -1e-30, float('inf'), float('-inf')])])
parts = [("bf16", x.to(torch.bfloat16).view(torch.int16).numpy().tobytes(), "BF16"),
         ("f16", x.to(torch.float16).view(torch.int16).numpy().tobytes(), "F16"),
         ("f32", x.numpy().tobytes(), "F32")]
header, data = {}, b""
for name, b, dt in parts:
    header[name] = {"dtype": dt, "shape": [x.numel()], "data_offsets": [len(data), len(data) + len(b)]}
    data += b
header["__metadata__"] = {"format": "pt"}
h = json.dumps(header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + data)
)PY";
    ASSERT_TRUE(WriteFileAtomic(script, py).ok());
  }
  ASSERT_EQ(std::system((std::string(AFTUNE_PYTHON) + " " + script + " " + path).c_str()), 0);
  auto file = SafetensorsFile::Read(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const SafetensorsEntry* f32 = file->Find("f32");
  ASSERT_NE(f32, nullptr);
  auto x = file->ToF32(*f32);
  ASSERT_TRUE(x.ok());
  for (const char* name : {"bf16", "f16"}) {
    const SafetensorsEntry* e = file->Find(name);
    ASSERT_NE(e, nullptr);
    std::string torch_bytes(reinterpret_cast<const char*>(e->bytes.data()), e->bytes.size());
    EXPECT_EQ(EncodeFloatTensor(*x, e->dtype), torch_bytes) << name;
  }
  std::remove(path.c_str());
  std::remove(script.c_str());
}

// ---- Malformed input: each case gives one specific Corruption. ----

// A header + data with a well-formed length field.
void ExpectCorrupt(const std::string& file, const std::string& want) {
  auto r = SafetensorsFile::Parse(file, kSource);
  ASSERT_FALSE(r.ok()) << "accepted; wanted: " << want;
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << r.status().ToString();
  EXPECT_EQ(r.status().message().rfind("model.safetensors: ", 0), 0u) << r.status().message();
  EXPECT_NE(r.status().message().find(want), std::string::npos)
      << "message: " << r.status().message() << "\nwanted: " << want;
}

std::string Entry(const std::string& dtype, const std::string& shape, const std::string& offsets) {
  return "{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
}

TEST(SafetensorsTest, RejectsBadLengthField) {
  ExpectCorrupt("", "file is 0 bytes, too short for the 8-byte header length");
  ExpectCorrupt(Bytes({2, 0, 0, 0, 0, 0, 0}), "file is 7 bytes");
  ExpectCorrupt(Le64(100'000'001) + "{}", "header length 100000001 exceeds the limit of 100000000 bytes");
  ExpectCorrupt(Le64(~uint64_t{0}) + "{}", "exceeds the limit");
  ExpectCorrupt(Le64(3) + "{}", "header length 3 exceeds the 2 bytes after the length field (truncated file?)");
  ExpectCorrupt(Le64(0), "header does not start with '{'");
}

TEST(SafetensorsTest, RejectsBadJson) {
  ExpectCorrupt(HandFile("[]", ""), "header does not start with '{'");
  ExpectCorrupt(HandFile(" {}", ""), "header does not start with '{'");
  ExpectCorrupt(HandFile("{\"a\":", ""), "header is not valid JSON");
  ExpectCorrupt(HandFile("{}x", ""), "header is not valid JSON");
  ExpectCorrupt(HandFile("{} {}", ""), "header is not valid JSON");
  ExpectCorrupt(HandFile(std::string("{}\0", 3), ""), "header is not valid JSON");
  ExpectCorrupt(HandFile("{\"\xff\":{}}", ""), "header is not valid JSON");          // not UTF-8
  ExpectCorrupt(HandFile("{\"\\ud800\":{}}", ""), "header is not valid JSON");       // lone surrogate
  ExpectCorrupt(HandFile("{/*c*/}", ""), "header is not valid JSON");                 // no comments
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[1]", "[0,4]") + ",}", std::string(4, '\0')),
                "header is not valid JSON");
  // Trailing spaces and other JSON whitespace after the object are padding.
  EXPECT_TRUE(SafetensorsFile::Parse(HandFile("{}   \n\t ", ""), kSource).ok());
}

TEST(SafetensorsTest, RejectsBadEntries) {
  const std::string d4(4, '\0');
  ExpectCorrupt(HandFile("{\"a\":5}", ""), "tensor 'a': entry is the number 5, not an object");
  ExpectCorrupt(HandFile("{\"a\":[]}", ""), "tensor 'a': entry is an array, not an object");
  ExpectCorrupt(HandFile("{\"a\":null}", ""), "tensor 'a': entry is null, not an object");
  ExpectCorrupt(HandFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", d4), "tensor 'a': missing key 'data_offsets'");
  ExpectCorrupt(HandFile("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", d4), "tensor 'a': missing key 'shape'");
  ExpectCorrupt(HandFile("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", d4), "tensor 'a': missing key 'dtype'");
  ExpectCorrupt(HandFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", d4),
                "tensor 'a': unexpected key 'x'");
  ExpectCorrupt(HandFile("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", d4),
                "tensor 'a': repeats the key 'dtype'");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F99", "[1]", "[0,4]") + "}", d4), "tensor 'a': unknown dtype 'F99'");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("f32", "[1]", "[0,4]") + "}", d4), "tensor 'a': unknown dtype 'f32'");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("U16", "[2]", "[0,4]") + "}", d4), "tensor 'a': unsupported dtype 'U16'");
  ExpectCorrupt(HandFile("{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", d4),
                "tensor 'a': dtype is the number 4, not a string");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[-3]", "[0,4]") + "}", d4),
                "tensor 'a': shape holds the negative number -3, not a non-negative integer");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[1.5]", "[0,4]") + "}", d4),
                "tensor 'a': shape holds the non-integer 1.5");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[1.0]", "[0,4]") + "}", d4), "shape holds the non-integer 1.0");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[1e0]", "[0,4]") + "}", d4), "shape holds the non-integer 1e0");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[\"1\"]", "[0,4]") + "}", d4), "shape holds a string");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[[1]]", "[0,4]") + "}", d4), "shape holds an array");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "4", "[0,4]") + "}", d4), "tensor 'a': shape is the number 4, not an array");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[1]", "[0]") + "}", d4),
                "tensor 'a': data_offsets must be [begin, end], got 1 numbers");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[1]", "[0,4,4]") + "}", d4), "got more than 2 numbers");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[1]", "[0,-4]") + "}", d4), "data_offsets holds the negative number -4");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[1]", "[0,18446744073709551616]") + "}", d4),
                "data_offsets holds the non-integer 18446744073709551616");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[1]", "{}") + "}", d4), "data_offsets is an object, not an array");
}

TEST(SafetensorsTest, RejectsBadMetadata) {
  ExpectCorrupt(HandFile("{\"__metadata__\":[]}", ""), "__metadata__ is an array, not an object");
  ExpectCorrupt(HandFile("{\"__metadata__\":null}", ""), "__metadata__ is null, not an object");
  ExpectCorrupt(HandFile("{\"__metadata__\":{\"k\":1}}", ""), "__metadata__ value of 'k' is the number 1, not a string");
  ExpectCorrupt(HandFile("{\"__metadata__\":{\"k\":{}}}", ""), "__metadata__ value of 'k' is an object");
  ExpectCorrupt(HandFile("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", ""), "__metadata__ repeats the key 'k'");
  ExpectCorrupt(HandFile("{\"__metadata__\":{},\"__metadata__\":{}}", ""), "header has two \"__metadata__\" keys");
}

TEST(SafetensorsTest, RejectsBadRanges) {
  const std::string d4(4, '\0');
  // The example from the design brief.
  ExpectCorrupt(HandFile("{\"x\":" + Entry("F32", "[3,4]", "[0,40]") + "}", std::string(40, '\0')),
                "model.safetensors: tensor 'x': data_offsets [0, 40] but shape [3, 4] F32 needs 48 bytes");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[1]", "[4,0]") + "}", d4),
                "tensor 'a': data_offsets [4, 0] has begin > end");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[1]", "[4,8]") + "}", d4),
                "tensor 'a': data_offsets [4, 8] run past the end of the 4-byte data buffer (truncated file?)");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[4294967296,4294967296,4294967296]", "[0,4]") + "}", d4),
                "tensor 'a': shape [4294967296, 4294967296, 4294967296] F32 overflows 64-bit sizes");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[0,9223372036854775808]", "[0,0]") + "}", ""),
                "overflows 64-bit sizes");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("U8", "[4611686018427387904,4]", "[0,0]") + "}", ""),
                "overflows 64-bit sizes");
  // No elements, but the running product passes INT64_MAX before the 0.
  ExpectCorrupt(HandFile("{\"a\":" + Entry("U8", "[9223372036854775807,2,0]", "[0,0]") + "}", ""),
                "overflows 64-bit sizes");
  auto zero = SafetensorsFile::Parse(
      HandFile("{\"a\":" + Entry("F32", "[0,9223372036854775807,1]", "[0,0]") + "}", ""), kSource);
  ASSERT_TRUE(zero.ok()) << zero.status().ToString();
  EXPECT_EQ(zero->entries()[0].numel(), 0);
  EXPECT_EQ(zero->ToF32(zero->entries()[0])->numel(), 0);
  // Two tensors.
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[2]", "[0,8]") + ",\"b\":" + Entry("F32", "[2]", "[4,12]") + "}",
                         std::string(12, '\0')),
                "tensors 'a' [0, 8] and 'b' [4, 12] overlap in the data buffer");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[1]", "[0,4]") + ",\"b\":" + Entry("F32", "[1]", "[0,4]") + "}", d4),
                "overlap in the data buffer");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[1]", "[0,4]") + ",\"b\":" + Entry("F32", "[1]", "[8,12]") + "}",
                         std::string(12, '\0')),
                "hole in the data buffer: bytes [4, 8) belong to no tensor");
  ExpectCorrupt(HandFile("{\"b\":" + Entry("F32", "[1]", "[4,8]") + "}", std::string(8, '\0')),
                "hole in the data buffer: bytes [0, 4) belong to no tensor");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[1]", "[0,4]") + "}", std::string(5, '\0')),
                "trailing bytes: the data buffer has 5 bytes but the tensors cover only 4");
  ExpectCorrupt(HandFile("{}", "x"), "trailing bytes: the data buffer has 1 bytes but the tensors cover only 0");
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[1]", "[0,4]") + ",\"a\":" + Entry("F32", "[1]", "[4,8]") + "}",
                         std::string(8, '\0')),
                "duplicate tensor name 'a'");
  // An empty tensor inside another tensor's range overlaps it; at a boundary it is fine.
  ExpectCorrupt(HandFile("{\"a\":" + Entry("F32", "[2]", "[0,8]") + ",\"e\":" + Entry("F32", "[0]", "[4,4]") + "}",
                         std::string(8, '\0')),
                "overlap");
  EXPECT_TRUE(SafetensorsFile::Parse(HandFile("{\"a\":" + Entry("F32", "[2]", "[0,8]") + ",\"e\":" +
                                                  Entry("F32", "[0]", "[8,8]") + ",\"f\":" + Entry("F32", "[0]", "[0,0]") + "}",
                                              std::string(8, '\0')),
                                     kSource)
                  .ok());
}

TEST(SafetensorsTest, TruncatedOrExtendedValidFileIsRejected) {
  std::string file = WorkedExample();
  for (size_t n = 0; n < file.size(); ++n) {
    auto r = SafetensorsFile::Parse(file.substr(0, n), kSource);
    EXPECT_FALSE(r.ok()) << "accepted a " << n << "-byte prefix";
  }
  ExpectCorrupt(file.substr(0, file.size() - 1), "run past the end of the 7-byte data buffer (truncated file?)");
  ExpectCorrupt(file + "z", "trailing bytes");
}

TEST(SafetensorsTest, HostileNamesAreQuotedAndCut) {
  std::string name(1000, 'n');
  name[0] = '\x01';
  ExpectCorrupt(HandFile("{\"\\u0001" + name.substr(1) + "\":7}", ""), "tensor '\\x01nnn");
  auto r = SafetensorsFile::Parse(HandFile("{\"\\u0001" + name.substr(1) + "\":7}", ""), kSource);
  EXPECT_LT(r.status().message().size(), 300u);
}

// Every single-byte change and every truncation of a small valid file either
// parses (with views inside the file) or gives an error: never a crash.
TEST(SafetensorsTest, MangledBytesNeverCrash) {
  std::map<std::string, Tensor> m;
  m.emplace("w", MakeTensor({2, 3}, {1, 2, 3, 4, 5, 6}));
  m.emplace("b", MakeTensor({2}, {-1, 1}));
  auto good = SerializeSafetensorsF32(m, DType::kBF16, {{"format", "pt"}});
  ASSERT_TRUE(good.ok());
  const std::string& file = *good;
  int accepted = 0, rejected = 0;
  auto check = [&](const std::string& bytes) {
    auto r = SafetensorsFile::Parse(bytes, kSource);
    if (!r.ok()) {
      EXPECT_FALSE(r.status().message().empty());
      ++rejected;
      return;
    }
    ++accepted;
    const auto* lo = reinterpret_cast<const uint8_t*>(r->file_bytes().data());
    const auto* hi = lo + r->file_bytes().size();
    for (const SafetensorsEntry& e : r->entries()) {
      EXPECT_GE(e.bytes.data(), lo);
      EXPECT_LE(e.bytes.data() + e.bytes.size(), hi);
      auto t = r->ToF32(e);
      if (t.ok()) {
        EXPECT_EQ(static_cast<size_t>(t->numel()) * static_cast<size_t>(DTypeSize(e.dtype)), e.bytes.size());
      }
    }
  };
  for (size_t i = 0; i < file.size(); ++i) {
    for (int mask : {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff}) {
      std::string b = file;
      b[i] = static_cast<char>(b[i] ^ mask);
      check(b);
    }
  }
  for (size_t n = 0; n < file.size(); ++n) check(file.substr(0, n));
  EXPECT_GT(rejected, 0);
  EXPECT_GT(accepted, 0);  // flips in the data buffer and some in names still parse
}

TEST(SafetensorsTest, WriterRejectsBadInput) {
  std::map<std::string, Tensor> m;
  m.emplace("__metadata__", Tensor({1}));
  auto r = SerializeSafetensorsF32(m, DType::kF32, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);

  std::map<std::string, Tensor> ok;
  ok.emplace("w", Tensor({1}));
  r = SerializeSafetensorsF32(ok, DType::kI32, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cannot store float tensors as I32"), std::string::npos);

  std::map<std::string, Tensor> bad_name;
  bad_name.emplace("w\xff", Tensor({1}));
  r = SerializeSafetensorsF32(bad_name, DType::kF32, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not valid UTF-8"), std::string::npos);
  r = SerializeSafetensorsF32(ok, DType::kF32, {{"k", "\xc3"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("metadata value"), std::string::npos);

  const std::string four(4, '\0');
  r = SerializeSafetensors({{"a", DType::kF32, {2}, four}}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tensor 'a' has 4 bytes but shape [2] F32 needs 8"), std::string::npos)
      << r.status().message();
  r = SerializeSafetensors({{"a", DType::kF32, {1}, four}, {"a", DType::kI32, {1}, four}}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("two tensors are called 'a'"), std::string::npos);
  r = SerializeSafetensors({{"a", DType::kU8, {-4}, four}}, {});
  ASSERT_FALSE(r.ok());
  r = SerializeSafetensors({{"a", DType::kI32, {1}, four}, {"b", DType::kU8, {4}, four}}, {});
  ASSERT_TRUE(r.ok());
  auto parsed = SafetensorsFile::Parse(*r, kSource);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->entries()[1].dtype, DType::kU8);

  EXPECT_FALSE(WriteSafetensors("/nonexistent-dir/x.safetensors", ok, DType::kF32).ok());
  auto missing = ReadSafetensorsF32("/nonexistent-dir/x.safetensors");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace aftune
