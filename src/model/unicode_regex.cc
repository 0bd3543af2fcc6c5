#include "model/unicode_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "model/utf8.h"

namespace aftune {

struct UnicodeRegex::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

namespace {

// One match-data block per thread (PCRE2 match data is not shareable): the
// ovector of the whole match is all Matches reads.
pcre2_match_data* ThreadMatchData() {
  struct Holder {
    pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
    ~Holder() { pcre2_match_data_free(md); }
  };
  thread_local Holder h;
  return h.md;
}

}  // namespace

Result<UnicodeRegex> UnicodeRegex::Compile(std::string_view pattern, const std::string& where) {
  int err = 0;
  PCRE2_SIZE err_off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &err, &err_off, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    return Status::InvalidArgument(where + ": regex does not compile at offset " + std::to_string(err_off) + ": " +
                                   reinterpret_cast<const char*>(msg));
  }
  // JIT is an optimisation only: where it is unavailable the interpreter
  // gives the same matches.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  UnicodeRegex re;
  auto c = std::make_shared<Code>();
  c->code = code;
  re.code_ = std::move(c);
  return re;
}

std::vector<std::pair<size_t, size_t>> UnicodeRegex::Matches(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> out;
  pcre2_match_data* md = ThreadMatchData();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos < text.size()) {
    const int rc = pcre2_match(code_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    // Any other failure is a resource limit of PCRE2 (its defaults are far
    // above what a tokenizer pattern needs) or a broken precondition.
    AFTUNE_CHECK(rc > 0);
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t b = ov[0], e = ov[1];
    if (e > b) {
      out.emplace_back(b, e);
      pos = e;
    } else {
      // An empty match: not a piece; resume one character later.
      if (b >= text.size()) break;
      pos = b + utf8::CharLen(text, b);
    }
  }
  return out;
}

}  // namespace aftune
