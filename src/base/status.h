// Status and Result<T>: how every fallible call in aftune reports failure.
//
// A Status is either ok or carries a Code and a message that names what was
// wrong (the file, line, field or value). Functions that read, parse or verify
// bytes from outside return a Status or a Result<T>; only main() exits.
// A broken internal invariant is not a Status: it is an assert / AFTUNE_CHECK.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace aftune {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // the caller's request is malformed or unsupported
    kCorruption,       // bytes from outside do not follow their format
    kNotFound,         // a file or entry does not exist
    kIOError,          // the OS refused a read or write
    kMismatch,         // a value differs from the one committed to
  };

  Status() = default;  // ok

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status Mismatch(std::string msg) { return Status(Code::kMismatch, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "ok" or "<kind>: <message>".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(const std::string& context) const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// Either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}           // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {     // NOLINT: implicit by design
    if (std::get<Status>(v_).ok()) {
      std::fprintf(stderr, "Result constructed from an ok Status\n");
      std::abort();
    }
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  // REQUIRES: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // Ok() when ok(), else the error.
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace aftune

// Evaluates `expr` (a Status); returns it from the enclosing function if not ok.
#define AFTUNE_RETURN_IF_ERROR(expr)        \
  do {                                      \
    ::aftune::Status _st = (expr);          \
    if (!_st.ok()) return _st;              \
  } while (0)

#define AFTUNE_CONCAT_INNER(a, b) a##b
#define AFTUNE_CONCAT(a, b) AFTUNE_CONCAT_INNER(a, b)
// `lhs = value of expr (a Result<T>)`, or return its error.
#define AFTUNE_ASSIGN_OR_RETURN(lhs, expr)                         \
  auto AFTUNE_CONCAT(_res_, __LINE__) = (expr);                    \
  if (!AFTUNE_CONCAT(_res_, __LINE__).ok())                        \
    return AFTUNE_CONCAT(_res_, __LINE__).status();                \
  lhs = std::move(AFTUNE_CONCAT(_res_, __LINE__)).value()

// An internal invariant. Always on (release builds too): a wrong bit in the
// numeric path must never go unnoticed.
#define AFTUNE_CHECK(cond)                                                      \
  do {                                                                          \
    if (!(cond)) {                                                              \
      std::fprintf(stderr, "%s:%d: internal check failed: %s\n", __FILE__,     \
                   __LINE__, #cond);                                            \
      std::abort();                                                             \
    }                                                                           \
  } while (0)
