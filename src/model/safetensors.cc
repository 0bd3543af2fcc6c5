// safetensors: reader and writer.
//
// Format (huggingface/safetensors, as its reference implementation reads it):
//
//   offset 0      u64 little-endian  N, the length of the JSON header
//   offset 8      N bytes            the header: UTF-8 JSON, one object
//   offset 8+N    the rest           the data buffer
//
// The header maps each tensor name to an object with exactly three keys,
//   "dtype":        "F32" | "BF16" | "F16" | "F64" | "I64" | "I32" | "I16" |
//                   "I8" | "U8" | "BOOL"   (dtypes aftune knows; tensor/dtype.h)
//   "shape":        [d0, d1, ...]  non-negative integers; [] is a scalar
//   "data_offsets": [begin, end]   byte range in the data buffer (relative to
//                                  its start, end exclusive)
// plus an optional "__metadata__" object whose values are all strings.
// Elements are little-endian and row-major (C order).
//
// The reader is strict. It rejects, as one Status::Corruption naming the file:
//   - a file shorter than 8 bytes; N > kSafetensorsMaxHeaderBytes (10^8);
//     N larger than what follows the length field;
//   - a header that does not start with '{', is not valid JSON (nlohmann's
//     lexer: UTF-8 is checked, no comments, no trailing non-whitespace; and a
//     raw NUL byte, which that lexer would take for the end), is
//     nested deeper than an entry's arrays, or repeats a key in any object;
//   - an entry that is not an object, misses or adds a key, has a dtype that
//     is not a string or not one of the above, a shape or data_offsets that is
//     not an array of non-negative integers (1.0, -0, 1e3 are not integers),
//     a dim or a running product of the dims > 2^63-1 (even when a later dim
//     is 0), a numel * dtype size that overflows 64 bits, begin > end,
//     end beyond the data buffer, or end - begin != numel * dtype size;
//   - ranges that do not tile the data buffer exactly: sorted by (begin, end)
//     each must start where the previous ended (else an overlap or a hole),
//     the first at 0, and the last must end at the end of the file (else
//     trailing bytes). Empty tensors sit between two others at a boundary.
// Padding: after the JSON object the header may hold JSON whitespace; the
// writer pads with spaces (0x20).
//
// Canonical form (what the writer produces, byte for byte):
//   - header JSON without any whitespace: "__metadata__" first when non-empty
//     (its keys bytewise ascending), then the tensors by name, bytewise
//     ascending, each as {"dtype":...,"shape":[...],"data_offsets":[b,e]};
//     strings escaped as nlohmann::json::dump does (UTF-8 kept as is);
//   - the header padded with spaces to a multiple of 8 bytes, so the data
//     buffer starts 8-aligned;
//   - data in the same order as the header, contiguous from offset 0.
//
// Worked example: one F32 tensor "a" = [1.0, -2.0] and metadata
// {"format": "pt"} is this 104-byte file:
//   58 00 00 00 00 00 00 00                                N = 88
//   {"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],
//   "data_offsets":[0,8]}}                                 85 bytes of JSON
//   20 20 20                                               3 spaces of padding
//   00 00 80 3f 00 00 00 c0                                1.0f, -2.0f
#include "model/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/mapped_file.h"

namespace aftune {

std::string QuoteName(std::string_view s) {
  constexpr size_t kMaxQuotedName = 120;
  static const char kHex[] = "0123456789abcdef";
  std::string out = "'";
  size_t n = std::min(s.size(), kMaxQuotedName);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (s.size() > n) out += "...";
  return out + "'";
}

namespace {

using Json = nlohmann::json;

std::string Quote(std::string_view s) { return QuoteName(s); }

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::string RangeText(uint64_t b, uint64_t e) {
  return "[" + std::to_string(b) + ", " + std::to_string(e) + "]";
}

// numel * elem_size, or false when a dim or any running product of the dims
// (left to right, as NumElements computes it in int64) exceeds INT64_MAX, or
// the byte count overflows 64 bits. So [2^62, 4, 0] is refused although it
// has no elements: NumElements would overflow on it.
bool CheckedByteSize(const std::vector<uint64_t>& dims, uint64_t elem_size, uint64_t* bytes) {
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t n = 1;
  for (uint64_t d : dims) {
    if (d > kMax || __builtin_mul_overflow(n, d, &n) || n > kMax) return false;
  }
  return !__builtin_mul_overflow(n, elem_size, bytes);
}

uint64_t LoadU64LE(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void AppendU64LE(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// An entry as the header states it, before the semantic checks.
struct RawEntry {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<uint64_t> shape;
  std::vector<uint64_t> offsets;
  bool has_dtype = false, has_shape = false, has_offsets = false;
};

// Dtypes the safetensors format defines that aftune does not handle: named
// so the error says "unsupported" rather than "unknown".
bool IsOtherSafetensorsDType(std::string_view s) {
  static const char* const kOther[] = {"U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0",
                                       "F6_E2M3", "F6_E3M2", "F4", "C64"};
  for (const char* o : kOther)
    if (s == o) return true;
  return false;
}

// SAX handler for the header: builds RawEntry values and the metadata map
// directly (no DOM), keeps nesting to the three levels the format has, and
// stops at the first problem with a message in `error`.
class HeaderHandler {
 public:
  std::vector<RawEntry> entries;
  std::map<std::string, std::string> metadata;
  std::string error;  // set when a handler returned false

  bool null() { return Value(Kind::kNull); }
  bool boolean(bool) { return Value(Kind::kBool); }
  bool number_integer(Json::number_integer_t v) {
    negative_ = v;
    return Value(Kind::kNegative);
  }
  bool number_unsigned(Json::number_unsigned_t v) {
    unsigned_ = v;
    return Value(Kind::kUnsigned);
  }
  bool number_float(Json::number_float_t, const std::string& text) {
    float_text_ = text;
    return Value(Kind::kFloat);
  }
  bool string(std::string& v) {
    string_ = std::move(v);
    return Value(Kind::kString);
  }
  bool binary(Json::binary_t&) { return Value(Kind::kOther); }
  bool start_object(std::size_t) { return Value(Kind::kObject); }
  bool start_array(std::size_t) { return Value(Kind::kArray); }

  bool key(std::string& k) {
    Ctx ctx = stack_.back();
    if (ctx == Ctx::kTop) {
      if (!top_keys_.insert(k).second) {
        return Fail(k == "__metadata__" ? "header has two \"__metadata__\" keys"
                                        : "duplicate tensor name " + Quote(k));
      }
    } else if (ctx == Ctx::kMetadata) {
      if (metadata.count(k)) return Fail("__metadata__ repeats the key " + Quote(k));
    } else {  // kEntry
      RawEntry& e = entries.back();
      bool* seen = k == "dtype" ? &e.has_dtype
                   : k == "shape" ? &e.has_shape
                   : k == "data_offsets" ? &e.has_offsets
                                         : nullptr;
      if (seen == nullptr) return Fail(EntryText() + "unexpected key " + Quote(k));
      if (*seen) return Fail(EntryText() + "repeats the key " + Quote(k));
      *seen = true;
    }
    key_ = std::move(k);
    return true;
  }

  bool end_object() {
    Ctx ctx = stack_.back();
    stack_.pop_back();
    if (ctx == Ctx::kEntry) {
      const RawEntry& e = entries.back();
      const char* missing = !e.has_dtype ? "dtype" : !e.has_shape ? "shape"
                            : !e.has_offsets ? "data_offsets" : nullptr;
      if (missing) return Fail(EntryText() + "missing key '" + missing + "'");
    }
    return true;
  }

  bool end_array() {
    Ctx ctx = stack_.back();
    stack_.pop_back();
    if (ctx == Ctx::kOffsets && entries.back().offsets.size() != 2) {
      return Fail(EntryText() + "data_offsets must be [begin, end], got " +
                  std::to_string(entries.back().offsets.size()) + " numbers");
    }
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
    if (error.empty()) {
      std::string what = ex.what();
      size_t cut = what.find("] ");  // drop "[json.exception.parse_error.101] "
      if (cut != std::string::npos) what = what.substr(cut + 2);
      error = "header is not valid JSON (byte " + std::to_string(position) + " of the header): " +
              what;
    }
    return false;
  }

 private:
  enum class Ctx { kTop, kMetadata, kEntry, kShape, kOffsets };
  enum class Kind { kNull, kBool, kNegative, kUnsigned, kFloat, kString, kObject, kArray, kOther };

  bool Fail(std::string msg) {
    error = std::move(msg);
    return false;
  }
  std::string EntryText() const { return "tensor " + Quote(entries.back().name) + ": "; }

  // A number that is not a non-negative integer, or another value, where one
  // was expected: says what was found.
  std::string Found(Kind kind) const {
    switch (kind) {
      case Kind::kNegative: return "the negative number " + std::to_string(negative_);
      case Kind::kUnsigned: return "the number " + std::to_string(unsigned_);
      case Kind::kFloat: return "the non-integer " + float_text_;
      case Kind::kNull: return "null";
      case Kind::kBool: return "a boolean";
      case Kind::kString: return "a string";
      case Kind::kObject: return "an object";
      case Kind::kArray: return "an array";
      default: return "a value of another kind";
    }
  }

  // Every value event lands here, placed by the context it appears in.
  bool Value(Kind kind) {
    if (stack_.empty()) {
      if (kind != Kind::kObject) return Fail("header is not a JSON object");
      stack_.push_back(Ctx::kTop);
      return true;
    }
    switch (stack_.back()) {
      case Ctx::kTop:
        if (key_ == "__metadata__") {
          if (kind != Kind::kObject) return Fail("__metadata__ is " + Found(kind) + ", not an object");
          stack_.push_back(Ctx::kMetadata);
          return true;
        }
        entries.emplace_back();
        entries.back().name = key_;
        if (kind != Kind::kObject) return Fail(EntryText() + "entry is " + Found(kind) + ", not an object");
        stack_.push_back(Ctx::kEntry);
        return true;
      case Ctx::kMetadata:
        if (kind != Kind::kString) {
          return Fail("__metadata__ value of " + Quote(key_) + " is " + Found(kind) + ", not a string");
        }
        metadata.emplace(key_, std::move(string_));
        return true;
      case Ctx::kEntry: {
        RawEntry& e = entries.back();
        if (key_ == "dtype") {
          if (kind != Kind::kString) return Fail(EntryText() + "dtype is " + Found(kind) + ", not a string");
          std::optional<DType> t = ParseDType(string_);
          if (!t) {
            return Fail(EntryText() + (IsOtherSafetensorsDType(string_) ? "unsupported dtype "
                                                                        : "unknown dtype ") +
                        Quote(string_));
          }
          e.dtype = *t;
          return true;
        }
        if (kind != Kind::kArray) {
          return Fail(EntryText() + key_ + " is " + Found(kind) + ", not an array");
        }
        stack_.push_back(key_ == "shape" ? Ctx::kShape : Ctx::kOffsets);
        return true;
      }
      case Ctx::kShape:
        if (kind != Kind::kUnsigned) {
          return Fail(EntryText() + "shape holds " + Found(kind) + ", not a non-negative integer");
        }
        entries.back().shape.push_back(unsigned_);
        return true;
      case Ctx::kOffsets:
        if (kind != Kind::kUnsigned) {
          return Fail(EntryText() + "data_offsets holds " + Found(kind) +
                      ", not a non-negative integer");
        }
        if (entries.back().offsets.size() == 2) {
          return Fail(EntryText() + "data_offsets must be [begin, end], got more than 2 numbers");
        }
        entries.back().offsets.push_back(unsigned_);
        return true;
    }
    return Fail("internal: bad header parser state");
  }

  std::vector<Ctx> stack_;
  std::set<std::string> top_keys_;
  std::string key_;
  std::string string_;
  std::string float_text_;
  int64_t negative_ = 0;
  uint64_t unsigned_ = 0;
};

Status Corrupt(const std::string& source, const std::string& msg) {
  return Status::Corruption(source + ": " + msg);
}

// Element conversions: portable little-endian loads and stores.
uint16_t LoadU16LE(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t LoadU32LE(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

// Checks a tensor's name and shape for the writer; *nbytes = its byte count.
Status CheckInfo(const std::string& name, DType dtype, const std::vector<int64_t>& shape, uint64_t* nbytes) {
  if (name == "__metadata__") {
    return Status::InvalidArgument("safetensors: a tensor may not be called \"__metadata__\"");
  }
  std::vector<uint64_t> dims;
  for (int64_t d : shape) {
    if (d < 0) {
      return Status::InvalidArgument("safetensors: tensor " + Quote(name) + " has a negative dim in shape " +
                                     ShapeText(shape));
    }
    dims.push_back(static_cast<uint64_t>(d));
  }
  if (!CheckedByteSize(dims, static_cast<uint64_t>(DTypeSize(dtype)), nbytes)) {
    return Status::InvalidArgument("safetensors: tensor " + Quote(name) + ": shape " + ShapeText(shape) + " " +
                                   std::string(DTypeName(dtype)) + " overflows 64-bit sizes");
  }
  return Status::Ok();
}

// Checks a tensor's name, shape and byte count for the writer.
Status CheckRef(const SafetensorsTensorRef& t) {
  uint64_t bytes = 0;
  AFTUNE_RETURN_IF_ERROR(CheckInfo(t.name, t.dtype, t.shape, &bytes));
  if (bytes != t.bytes.size()) {
    return Status::InvalidArgument("safetensors: tensor " + Quote(t.name) + " has " +
                                   std::to_string(t.bytes.size()) + " bytes but shape " +
                                   ShapeText(t.shape) + " " + std::string(DTypeName(t.dtype)) +
                                   " needs " + std::to_string(bytes));
  }
  return Status::Ok();
}

// A JSON string literal for `s`; InvalidArgument when `s` is not UTF-8.
Result<std::string> JsonString(const std::string& s, const char* what) {
  try {
    return Json(s).dump(-1, ' ', false, Json::error_handler_t::strict);
  } catch (const Json::exception&) {
    return Status::InvalidArgument(std::string("safetensors: ") + what + " " + Quote(s) +
                                   " is not valid UTF-8");
  }
}

// What the header says about one tensor.
struct HeaderItem {
  const std::string* name;
  DType dtype;
  const std::vector<int64_t>* shape;
  uint64_t nbytes;
};

// The canonical header for tensors sorted by name, data laid out in that
// order, padded with spaces to a multiple of 8.
Result<std::string> CanonicalHeader(const std::vector<HeaderItem>& sorted,
                                    const std::map<std::string, std::string>& metadata) {
  std::string h = "{";
  bool first = true;
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    for (const auto& [k, v] : metadata) {
      if (!first) h += ',';
      first = false;
      AFTUNE_ASSIGN_OR_RETURN(std::string ks, JsonString(k, "metadata key"));
      AFTUNE_ASSIGN_OR_RETURN(std::string vs, JsonString(v, "metadata value"));
      h += ks + ":" + vs;
    }
    h += '}';
    first = false;
  }
  uint64_t offset = 0;
  for (const HeaderItem& t : sorted) {
    if (!first) h += ',';
    first = false;
    AFTUNE_ASSIGN_OR_RETURN(std::string name, JsonString(*t.name, "tensor name"));
    h += name + ":{\"dtype\":\"" + std::string(DTypeName(t.dtype)) + "\",\"shape\":[";
    for (size_t i = 0; i < t.shape->size(); ++i) {
      if (i) h += ',';
      h += std::to_string((*t.shape)[i]);
    }
    uint64_t end = offset + t.nbytes;
    h += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(end) + "]}";
    offset = end;
  }
  h += '}';
  h.append((8 - h.size() % 8) % 8, ' ');
  if (h.size() > kSafetensorsMaxHeaderBytes) {
    return Status::InvalidArgument("safetensors: header of " + std::to_string(h.size()) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(kSafetensorsMaxHeaderBytes));
  }
  return h;
}

void AppendEncoded(std::string* out, const Tensor& t, DType storage) {
  const size_t n = static_cast<size_t>(t.numel());
  const size_t at = out->size();
  out->resize(at + n * static_cast<size_t>(DTypeSize(storage)));
  EncodeFloats(t.data(), n, storage, out->data() + at);
}

}  // namespace

Result<SafetensorsFile> SafetensorsFile::Parse(std::string bytes, std::string source) {
  return FromSource(OwnedBytes(std::move(bytes)), std::move(source));
}

Result<SafetensorsFile> SafetensorsFile::FromSource(std::unique_ptr<ByteSource> owner, std::string source) {
  const std::string_view bytes = owner->bytes();
  const uint64_t size = bytes.size();
  if (size < 8) {
    return Corrupt(source, "file is " + std::to_string(size) +
                               " bytes, too short for the 8-byte header length");
  }
  const uint64_t n = LoadU64LE(reinterpret_cast<const unsigned char*>(bytes.data()));
  if (n > kSafetensorsMaxHeaderBytes) {
    return Corrupt(source, "header length " + std::to_string(n) + " exceeds the limit of " +
                               std::to_string(kSafetensorsMaxHeaderBytes) + " bytes");
  }
  if (n > size - 8) {
    return Corrupt(source, "header length " + std::to_string(n) + " exceeds the " +
                               std::to_string(size - 8) +
                               " bytes after the length field (truncated file?)");
  }
  const char* header = bytes.data() + 8;
  if (n == 0 || header[0] != '{') return Corrupt(source, "header does not start with '{'");

  // nlohmann's lexer takes a NUL byte for the end of input and would ignore
  // whatever follows it; valid JSON never holds a raw NUL.
  if (const void* nul = std::memchr(header, '\0', n)) {
    return Corrupt(source, "header is not valid JSON: NUL byte at byte " +
                               std::to_string(static_cast<const char*>(nul) - header) +
                               " of the header");
  }
  HeaderHandler handler;
  bool parsed = false;
  try {
    parsed = Json::sax_parse(header, header + n, &handler, Json::input_format_t::json,
                             /*strict=*/true, /*ignore_comments=*/false);
  } catch (const Json::exception& ex) {  // not expected from the SAX parser; kept as a guard
    return Corrupt(source, std::string("header is not valid JSON: ") + ex.what());
  }
  if (!parsed) {
    return Corrupt(source, handler.error.empty() ? "header is not valid JSON" : handler.error);
  }

  // Per-entry checks, in header order.
  const uint64_t buffer = size - 8 - n;
  SafetensorsFile file;
  file.entries_.reserve(handler.entries.size());
  for (RawEntry& r : handler.entries) {
    const std::string what = "tensor " + Quote(r.name) + ": ";
    uint64_t need = 0;
    if (!CheckedByteSize(r.shape, static_cast<uint64_t>(DTypeSize(r.dtype)), &need)) {
      std::string dims;
      for (size_t i = 0; i < r.shape.size() && i < 16; ++i) {
        dims += (i ? ", " : "") + std::to_string(r.shape[i]);
      }
      if (r.shape.size() > 16) dims += ", ...";
      return Corrupt(source, what + "shape [" + dims + "] " + std::string(DTypeName(r.dtype)) +
                                 " overflows 64-bit sizes");
    }
    const uint64_t b = r.offsets[0], e = r.offsets[1];
    SafetensorsEntry entry;
    entry.name = std::move(r.name);
    entry.dtype = r.dtype;
    entry.shape.assign(r.shape.begin(), r.shape.end());  // each <= INT64_MAX (checked above)
    if (b > e) return Corrupt(source, what + "data_offsets " + RangeText(b, e) + " has begin > end");
    if (e > buffer) {
      return Corrupt(source, what + "data_offsets " + RangeText(b, e) + " run past the end of the " +
                                 std::to_string(buffer) + "-byte data buffer (truncated file?)");
    }
    if (e - b != need) {
      return Corrupt(source, what + "data_offsets " + RangeText(b, e) + " but shape " +
                                 ShapeText(entry.shape) + " " + std::string(DTypeName(r.dtype)) +
                                 " needs " + std::to_string(need) + " bytes");
    }
    entry.data_begin = b;
    entry.data_end = e;
    file.entries_.push_back(std::move(entry));
  }

  // The ranges must tile [0, buffer) exactly.
  std::vector<const SafetensorsEntry*> by_offset;
  for (const SafetensorsEntry& e : file.entries_) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const SafetensorsEntry* a, const SafetensorsEntry* b) {
    if (a->data_begin != b->data_begin) return a->data_begin < b->data_begin;
    if (a->data_end != b->data_end) return a->data_end < b->data_end;
    return a->name < b->name;
  });
  uint64_t pos = 0;
  const SafetensorsEntry* prev = nullptr;
  for (const SafetensorsEntry* e : by_offset) {
    if (e->data_begin < pos) {
      return Corrupt(source, "tensors " + Quote(prev->name) + " " +
                                 RangeText(prev->data_begin, prev->data_end) + " and " +
                                 Quote(e->name) + " " + RangeText(e->data_begin, e->data_end) +
                                 " overlap in the data buffer");
    }
    if (e->data_begin > pos) {
      return Corrupt(source, "hole in the data buffer: bytes [" + std::to_string(pos) + ", " +
                                 std::to_string(e->data_begin) + ") belong to no tensor");
    }
    pos = e->data_end;
    prev = e;
  }
  if (pos != buffer) {
    return Corrupt(source, "trailing bytes: the data buffer has " + std::to_string(buffer) +
                               " bytes but the tensors cover only " + std::to_string(pos));
  }

  // Take over the bytes, then point the views into them.
  file.bytes_ = std::move(owner);
  const uint8_t* data = reinterpret_cast<const uint8_t*>(bytes.data()) + 8 + n;
  for (SafetensorsEntry& e : file.entries_) {
    e.bytes = std::span<const uint8_t>(data + e.data_begin, static_cast<size_t>(e.data_end - e.data_begin));
  }
  std::sort(file.entries_.begin(), file.entries_.end(),
            [](const SafetensorsEntry& a, const SafetensorsEntry& b) { return a.name < b.name; });
  file.metadata_ = std::move(handler.metadata);
  file.source_ = std::move(source);
  file.header_size_ = n;
  return file;
}

Result<SafetensorsFile> SafetensorsFile::Read(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> mapped, MapFile(path));
  return FromSource(std::move(mapped), path);
}

const SafetensorsEntry* SafetensorsFile::Find(std::string_view name) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                             [](const SafetensorsEntry& e, std::string_view n) { return e.name < n; });
  if (it == entries_.end() || it->name != name) return nullptr;
  return &*it;
}

Result<Tensor> SafetensorsFile::ToF32(const SafetensorsEntry& entry) const {
  if (!IsFloatStorage(entry.dtype)) {
    return Status::InvalidArgument(source_ + ": tensor " + Quote(entry.name) + " has dtype " +
                                   std::string(DTypeName(entry.dtype)) +
                                   ", which cannot be loaded as floats (only F32, BF16, F16)");
  }
  Result<Tensor> t = DecodeFloatTensor(entry.dtype, entry.shape, entry.bytes);
  if (!t.ok()) return t.status().WithContext(source_ + ": tensor " + Quote(entry.name));
  return t;
}

Result<std::map<std::string, Tensor>> SafetensorsFile::AllF32() const {
  std::map<std::string, Tensor> out;
  for (const SafetensorsEntry& e : entries_) {
    AFTUNE_ASSIGN_OR_RETURN(Tensor t, ToF32(e));
    out.emplace(e.name, std::move(t));
  }
  return out;
}

Result<std::map<std::string, Tensor>> ReadSafetensorsF32(const std::string& path) {
  AFTUNE_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Read(path));
  return file.AllF32();
}

Result<Tensor> DecodeFloatTensor(DType dtype, const std::vector<int64_t>& shape,
                                 std::span<const uint8_t> bytes) {
  if (!IsFloatStorage(dtype)) {
    return Status::InvalidArgument("dtype " + std::string(DTypeName(dtype)) +
                                   " cannot be loaded as floats (only F32, BF16, F16)");
  }
  std::vector<uint64_t> dims;
  for (int64_t d : shape) {
    if (d < 0) return Status::InvalidArgument("negative dim in shape " + ShapeText(shape));
    dims.push_back(static_cast<uint64_t>(d));
  }
  uint64_t need = 0;
  if (!CheckedByteSize(dims, static_cast<uint64_t>(DTypeSize(dtype)), &need) || need != bytes.size()) {
    return Status::InvalidArgument(std::to_string(bytes.size()) + " bytes do not hold shape " +
                                   ShapeText(shape) + " " + std::string(DTypeName(dtype)));
  }
  Tensor t(shape);
  float* out = t.data();
  const uint8_t* p = bytes.data();
  const size_t n = static_cast<size_t>(t.numel());
  switch (dtype) {
    case DType::kF32:
      for (size_t i = 0; i < n; ++i) {
        uint32_t u = LoadU32LE(p + 4 * i);
        std::memcpy(&out[i], &u, 4);
      }
      break;
    case DType::kBF16:
      for (size_t i = 0; i < n; ++i) out[i] = BF16ToF32(LoadU16LE(p + 2 * i));
      break;
    case DType::kF16:
      for (size_t i = 0; i < n; ++i) out[i] = F16ToF32(LoadU16LE(p + 2 * i));
      break;
    default:
      AFTUNE_CHECK(false);
  }
  return t;
}

void EncodeFloats(const float* x, size_t n, DType storage, char* out) {
  AFTUNE_CHECK(IsFloatStorage(storage));
  char* p = out;
  for (size_t i = 0; i < n; ++i) {
    if (storage == DType::kF32) {
      uint32_t u;
      std::memcpy(&u, &x[i], 4);
      for (int b = 0; b < 4; ++b) *p++ = static_cast<char>((u >> (8 * b)) & 0xff);
    } else {
      uint16_t h = storage == DType::kBF16 ? F32ToBF16(x[i]) : F32ToF16(x[i]);
      *p++ = static_cast<char>(h & 0xff);
      *p++ = static_cast<char>(h >> 8);
    }
  }
}

std::string EncodeFloatTensor(const Tensor& tensor, DType storage) {
  AFTUNE_CHECK(IsFloatStorage(storage));
  std::string out;
  AppendEncoded(&out, tensor, storage);
  return out;
}

Result<std::string> SafetensorsPrefix(const std::vector<SafetensorsTensorInfo>& sorted,
                                      const std::map<std::string, std::string>& metadata) {
  std::vector<HeaderItem> items;
  items.reserve(sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) {
    const SafetensorsTensorInfo& t = sorted[i];
    uint64_t nbytes = 0;
    AFTUNE_RETURN_IF_ERROR(CheckInfo(t.name, t.dtype, t.shape, &nbytes));
    if (i > 0 && !(sorted[i - 1].name < t.name)) {
      return Status::InvalidArgument("safetensors: " +
                                     (sorted[i - 1].name == t.name ? "two tensors are called " + Quote(t.name)
                                                                   : "tensor " + Quote(t.name) + " is out of order"));
    }
    items.push_back({&t.name, t.dtype, &t.shape, nbytes});
  }
  AFTUNE_ASSIGN_OR_RETURN(std::string header, CanonicalHeader(items, metadata));
  std::string out;
  out.reserve(8 + header.size());
  AppendU64LE(&out, header.size());
  return out + header;
}

Result<std::string> SerializeSafetensors(std::vector<SafetensorsTensorRef> tensors,
                                         const std::map<std::string, std::string>& metadata) {
  std::sort(tensors.begin(), tensors.end(),
            [](const SafetensorsTensorRef& a, const SafetensorsTensorRef& b) { return a.name < b.name; });
  std::vector<SafetensorsTensorInfo> infos;
  infos.reserve(tensors.size());
  for (const SafetensorsTensorRef& t : tensors) {
    AFTUNE_RETURN_IF_ERROR(CheckRef(t));
    infos.push_back({t.name, t.dtype, t.shape});
  }
  AFTUNE_ASSIGN_OR_RETURN(std::string out, SafetensorsPrefix(infos, metadata));
  size_t total = out.size();
  for (const SafetensorsTensorRef& t : tensors) total += t.bytes.size();
  out.reserve(total);
  for (const SafetensorsTensorRef& t : tensors) out.append(t.bytes);
  return out;
}

Result<std::string> SerializeSafetensorsF32(const std::map<std::string, Tensor>& tensors,
                                            DType storage,
                                            const std::map<std::string, std::string>& metadata) {
  if (!IsFloatStorage(storage)) {
    return Status::InvalidArgument("safetensors: cannot store float tensors as " +
                                   std::string(DTypeName(storage)) + " (only F32, BF16, F16)");
  }
  std::vector<HeaderItem> items;
  items.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {  // std::map: already sorted bytewise, names unique
    if (name == "__metadata__") {
      return Status::InvalidArgument("safetensors: a tensor may not be called \"__metadata__\"");
    }
    uint64_t bytes = static_cast<uint64_t>(t.numel()) * static_cast<uint64_t>(DTypeSize(storage));
    items.push_back({&name, storage, &t.shape(), bytes});
  }
  AFTUNE_ASSIGN_OR_RETURN(std::string header, CanonicalHeader(items, metadata));
  size_t total = 8 + header.size();
  for (const HeaderItem& it : items) total += it.nbytes;
  std::string out;
  out.reserve(total);
  AppendU64LE(&out, header.size());
  out += header;
  for (const auto& [name, t] : tensors) AppendEncoded(&out, t, storage);
  return out;
}

Status WriteSafetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                        DType storage, const std::map<std::string, std::string>& metadata) {
  Result<std::string> bytes = SerializeSafetensorsF32(tensors, storage, metadata);
  if (!bytes.ok()) return bytes.status().WithContext(path);
  return WriteFileAtomic(path, *bytes);
}

}  // namespace aftune
