// FLINT_ASSIGN_OR_RETURN and FLINT_RETURN_IF_ERROR: early returns that carry the failure;
// ErrnoStatus's codes.
#include "sdk/core/status.h"

#include <catch2/catch.hpp>
#include <cerrno>
#include <memory>
#include <string>

namespace flint {
namespace {

Result<int> Parse(const std::string& text) {
  if (text.empty()) return InvalidArgument("empty");
  return static_cast<int>(text.size());
}

Result<std::unique_ptr<int>> MakeBox(int value) {
  if (value < 0) return NotFound("negative");
  return std::make_unique<int>(value);
}

// Doubles the parse of `text`, through a declaration.
Result<int> Doubled(const std::string& text) {
  FLINT_ASSIGN_OR_RETURN(int n, Parse(text));
  return 2 * n;
}

// Adds both parses into an existing variable, twice in one scope.
Status Sum(const std::string& a, const std::string& b, int* out) {
  int x = 0;
  FLINT_ASSIGN_OR_RETURN(x, Parse(a));
  FLINT_ASSIGN_OR_RETURN(int y, Parse(b));
  *out = x + y;
  return Status::Ok();
}

Result<int> Unbox(int value) {
  FLINT_ASSIGN_OR_RETURN(std::unique_ptr<int> box, MakeBox(value));  // moves a move-only value
  return *box;
}

Status Checked(const std::string& text) {
  FLINT_RETURN_IF_ERROR(Parse(text).status());
  return Status::Ok();
}

}  // namespace

TEST_CASE("FLINT_ASSIGN_OR_RETURN assigns the value or returns the failure", "[status]") {
  CHECK(*Doubled("abc") == 6);
  CHECK(Doubled("").status().code() == Code::kInvalidArgument);
  CHECK(Doubled("").status().message() == "empty");
  int sum = -1;
  CHECK(Sum("ab", "cde", &sum).ok());
  CHECK(sum == 5);
  sum = -1;
  CHECK(Sum("ab", "", &sum).code() == Code::kInvalidArgument);
  CHECK(sum == -1);
  CHECK(*Unbox(7) == 7);
  CHECK(Unbox(-1).status().code() == Code::kNotFound);
  CHECK(Checked("x").ok());
  CHECK(Checked("").code() == Code::kInvalidArgument);
}

TEST_CASE("ErrnoStatus makes a full or read-only file system a condition to retry", "[status]") {
  // 503 with Retry-After for the caller, not an internal error.
  for (int err : {ENOSPC, EDQUOT, EROFS}) {
    Status s = ErrnoStatus("write /data/x", err);
    CHECK(s.code() == Code::kUnavailable);
    CHECK(CodeHttpStatus(s.code()) == 503);
  }
  Status other = ErrnoStatus("open /x", ENOENT);
  CHECK(other.code() == Code::kIo);
  CHECK(other.message() == "open /x: No such file or directory");
}

}  // namespace flint
