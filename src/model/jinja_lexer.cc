// The Jinja lexer: see jinja_lexer.h for the whitespace rules.
#include "model/jinja_lexer.h"

#include <cctype>
#include <cstring>

#include "model/jinja_text.h"

namespace aftune::jinja {

namespace {

// The code point at s[pos] and its length in bytes (1 for an invalid byte).
char32_t CodePointAt(std::string_view s, size_t pos, size_t* len) {
  size_t n = 1;
  unsigned char c = s[pos];
  if (c >= 0xc0) n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
  if (pos + n > s.size()) n = 1;
  std::u32string u = DecodeUtf8(s.substr(pos, n));
  *len = n;
  return u.size() == 1 ? u[0] : U'\uFFFD';
}

// The position after the Unicode whitespace starting at `pos` (regex \s*).
size_t SkipSpace(std::string_view s, size_t pos) {
  while (pos < s.size()) {
    size_t len;
    if (!IsPySpace(CodePointAt(s, pos, &len))) break;
    pos += len;
  }
  return pos;
}

bool AllSpace(std::string_view s) { return SkipSpace(s, 0) == s.size(); }

int Lines(std::string_view s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

std::string NormalizeNewlines(std::string_view src) {
  std::string out;
  out.reserve(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] == '\r') {
      out += '\n';
      if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
    } else {
      out += src[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

Status Error(int line, const std::string& what) {
  return Status::InvalidArgument("template line " + std::to_string(line) + ": " + what);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of a string literal's body, with Python's escapes.
Result<std::string> Unescape(std::string_view body, int line) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out += body[i];
      continue;
    }
    char e = body[++i];
    switch (e) {
      case '\n':
        break;
      case '\\':
        out += '\\';
        break;
      case '\'':
        out += '\'';
        break;
      case '"':
        out += '"';
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x':
      case 'u':
      case 'U': {
        size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        char32_t cp = 0;
        for (size_t k = 1; k <= n; ++k) {
          int h = i + k < body.size() ? HexValue(body[i + k]) : -1;
          if (h < 0) return Error(line, "truncated \\" + std::string(1, e) + " escape");
          cp = cp * 16 + h;
        }
        if (cp > 0x10ffff) return Error(line, "\\U escape beyond U+10FFFF");
        out += EncodeUtf8(std::u32string(1, cp));
        i += n;
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          char32_t cp = e - '0';
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k) {
            cp = cp * 8 + (body[++i] - '0');
          }
          out += EncodeUtf8(std::u32string(1, cp));
        } else {
          out += '\\';  // an unknown escape stays as written, as in Python
          out += e;
        }
    }
  }
  return out;
}

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Digits with single underscores between them ("1_000"), from `pos`.
size_t SkipDigits(std::string_view s, size_t pos) {
  if (pos >= s.size() || !IsDigit(s[pos])) return pos;
  ++pos;
  while (pos < s.size()) {
    if (IsDigit(s[pos])) {
      ++pos;
    } else if (s[pos] == '_' && pos + 1 < s.size() && IsDigit(s[pos + 1])) {
      pos += 2;
    } else {
      break;
    }
  }
  return pos;
}

class Lexer {
 public:
  explicit Lexer(std::string src) : s_(std::move(src)) {}

  Result<std::vector<Token>> Run() {
    bool line_starting = true;
    size_t pos = 0;
    while (pos < s_.size()) {
      size_t at = FindTag(pos);
      std::string text = s_.substr(pos, at == std::string::npos ? std::string::npos : at - pos);
      int text_line = line_;
      line_ += Lines(text);
      if (at == std::string::npos) {
        Emit(Token::Type::kText, std::move(text), text_line);
        break;
      }
      char kind = s_[at + 1];  // '{', '%' or '#'
      char sign = at + 2 < s_.size() && (s_[at + 2] == '-' || s_[at + 2] == '+') ? s_[at + 2] : 0;
      if (sign == '-') {
        text = PyStrip(text, "", true, false, true);
      } else if (sign != '+' && kind != '{') {
        size_t l_pos = text.rfind('\n') + 1;  // npos + 1 == 0
        if ((l_pos > 0 || line_starting) && AllSpace(std::string_view(text).substr(l_pos))) text.resize(l_pos);
      }
      Emit(Token::Type::kText, std::move(text), text_line);
      size_t body = at + 2 + (sign ? 1 : 0);
      Result<size_t> end = kind == '#' ? Comment(body) : kind == '{' ? Tag(body, false) : Tag(body, true);
      if (!end.ok()) return end.status();
      line_starting = *end > 0 && s_[*end - 1] == '\n';
      pos = *end;
    }
    tokens_.push_back({Token::Type::kEnd, "", line_});
    return std::move(tokens_);
  }

 private:
  size_t FindTag(size_t pos) const {
    while (true) {
      size_t at = s_.find('{', pos);
      if (at == std::string::npos || at + 1 >= s_.size()) return std::string::npos;
      char c = s_[at + 1];
      if (c == '{' || c == '%' || c == '#') return at;
      pos = at + 1;
    }
  }

  void Emit(Token::Type type, std::string text, int line) {
    if (type == Token::Type::kText && text.empty()) return;
    tokens_.push_back({type, std::move(text), line});
  }

  // After the closing delimiter ending at `pos`: what the sign before it
  // (or trim_blocks) removes. Returns the position after it.
  size_t AfterClose(size_t pos, char sign, bool trim_newline) {
    size_t end = pos;
    if (sign == '-') {
      end = SkipSpace(s_, pos);
    } else if (sign != '+' && trim_newline && pos < s_.size() && s_[pos] == '\n') {
      end = pos + 1;
    }
    line_ += Lines(std::string_view(s_).substr(pos, end - pos));
    return end;
  }

  Result<size_t> Comment(size_t body) {
    int start_line = line_;
    size_t close = s_.find("#}", body);
    if (close == std::string::npos) return Error(start_line, "comment '{#' is never closed with '#}'");
    char sign = close > body && (s_[close - 1] == '-' || s_[close - 1] == '+') ? s_[close - 1] : 0;
    line_ += Lines(std::string_view(s_).substr(body, close - body));
    return AfterClose(close + 2, sign, true);
  }

  // A `{{ ... }}` (stmt false) or `{% ... %}` tag's tokens, from `body`.
  Result<size_t> Tag(size_t body, bool stmt) {
    int start_line = line_;
    const char* close = stmt ? "%}" : "}}";
    tokens_.push_back({stmt ? Token::Type::kStmtBegin : Token::Type::kPrintBegin, "", line_});
    size_t first_token = tokens_.size();
    size_t pos = body;
    while (true) {
      size_t next = SkipSpace(s_, pos);
      line_ += Lines(std::string_view(s_).substr(pos, next - pos));
      pos = next;
      if (pos >= s_.size()) {
        return Error(start_line, std::string("tag is never closed with '") + close + "'");
      }
      char sign = 0;
      if ((s_[pos] == '-' || (stmt && s_[pos] == '+')) && s_.compare(pos + 1, 2, close) == 0) sign = s_[pos];
      if (sign || s_.compare(pos, 2, close) == 0) {
        size_t close_end = pos + (sign ? 3 : 2);
        if (stmt && tokens_.size() == first_token + 1 && tokens_[first_token].type == Token::Type::kName &&
            tokens_[first_token].text == "raw") {
          tokens_.resize(first_token - 1);
          size_t raw_body = sign == '-' ? SkipSpace(s_, close_end) : close_end;  // no trim_blocks here
          line_ += Lines(std::string_view(s_).substr(close_end, raw_body - close_end));
          return Raw(raw_body);
        }
        tokens_.push_back({stmt ? Token::Type::kStmtEnd : Token::Type::kPrintEnd, "", line_});
        return AfterClose(close_end, sign, stmt);
      }
      AFTUNE_RETURN_IF_ERROR(NextToken(&pos));
    }
  }

  // The text of a `{% raw %}` block, from `body` to its `{% endraw %}`.
  Result<size_t> Raw(size_t body) {
    int start_line = line_;
    size_t search = body;
    while (true) {
      size_t at = s_.find("{%", search);
      if (at == std::string::npos) return Error(start_line, "'{% raw %}' is never closed with '{% endraw %}'");
      size_t p = at + 2;
      char sign = p < s_.size() && (s_[p] == '-' || s_[p] == '+') ? s_[p] : 0;
      if (sign) ++p;
      p = SkipSpace(s_, p);
      if (s_.compare(p, 6, "endraw") != 0) {
        search = at + 2;
        continue;
      }
      p = SkipSpace(s_, p + 6);
      char close_sign = 0;
      if (p < s_.size() && (s_[p] == '-' || s_[p] == '+')) close_sign = s_[p++];
      if (s_.compare(p, 2, "%}") != 0) {
        search = at + 2;
        continue;
      }
      std::string text = s_.substr(body, at - body);
      line_ += Lines(text) + Lines(std::string_view(s_).substr(at, p - at));
      if (sign == '-') {
        text = PyStrip(text, "", true, false, true);
      } else if (sign != '+') {
        size_t l_pos = text.rfind('\n') + 1;
        if (l_pos > 0 && AllSpace(std::string_view(text).substr(l_pos))) text.resize(l_pos);
      }
      Emit(Token::Type::kText, std::move(text), start_line);
      return AfterClose(p + 2, close_sign, true);
    }
  }

  Status NextToken(size_t* pos) {
    const std::string_view s = s_;
    size_t p = *pos;
    char c = s[p];
    // float: digits then a fraction and/or an exponent (not after a '.', as in "x.0.1")
    if (IsDigit(c) && !(p > 0 && s[p - 1] == '.')) {
      size_t d = SkipDigits(s, p);
      size_t f = d;
      bool is_float = false;
      if (f + 1 < s.size() && s[f] == '.' && IsDigit(s[f + 1])) {
        f = SkipDigits(s, f + 1);
        is_float = true;
      }
      if (f < s.size() && (s[f] == 'e' || s[f] == 'E')) {
        size_t e = f + 1;
        if (e < s.size() && (s[e] == '+' || s[e] == '-')) ++e;
        if (e < s.size() && IsDigit(s[e])) {
          f = SkipDigits(s, e);
          is_float = true;
        }
      }
      std::string text(s.substr(p, f - p));
      std::erase(text, '_');
      tokens_.push_back({is_float ? Token::Type::kFloat : Token::Type::kInt, std::move(text), line_});
      *pos = f;
      return Status::Ok();
    }
    if (IsDigit(c)) {  // an integer attribute after '.', e.g. items.0
      size_t d = SkipDigits(s, p);
      tokens_.push_back({Token::Type::kInt, std::string(s.substr(p, d - p)), line_});
      *pos = d;
      return Status::Ok();
    }
    if (IsNameStart(c)) {
      size_t e = p;
      while (e < s.size() && IsNameChar(s[e])) ++e;
      tokens_.push_back({Token::Type::kName, std::string(s.substr(p, e - p)), line_});
      *pos = e;
      return Status::Ok();
    }
    if (c == '\'' || c == '"') {
      size_t e = p + 1;
      while (e < s.size() && s[e] != c) e += s[e] == '\\' ? 2 : 1;
      if (e >= s.size()) return Error(line_, "string literal is never closed");
      AFTUNE_ASSIGN_OR_RETURN(std::string value, Unescape(s.substr(p + 1, e - p - 1), line_));
      tokens_.push_back({Token::Type::kString, std::move(value), line_});
      line_ += Lines(s.substr(p, e - p));
      *pos = e + 1;
      return Status::Ok();
    }
    static const char* const kOps[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[",
                                       "]",  "(",  ")",  "{",  "}",  ">",  "<", "=", ".", ":", "|", ",", ";"};
    for (const char* op : kOps) {
      size_t n = std::strlen(op);
      if (s.compare(p, n, op) == 0) {
        tokens_.push_back({Token::Type::kOp, op, line_});
        *pos = p + n;
        return Status::Ok();
      }
    }
    return Error(line_, "unexpected character '" + std::string(1, c) + "' inside a tag");
  }

  std::string s_;
  int line_ = 1;
  std::vector<Token> tokens_;
};

}  // namespace

Result<std::vector<Token>> Lex(std::string_view source) { return Lexer(NormalizeNewlines(source)).Run(); }

}  // namespace aftune::jinja
