// Small helpers for V8 values: strings in and out, and describing exceptions for users.
//
// All functions need the caller to hold a HandleScope and to have entered `context` where one
// is passed. They never throw C++ exceptions and never leave a JS exception pending.
#pragma once

#include <v8.h>

#include <string>
#include <string_view>

namespace flint::runtime {

// A V8 string from UTF-8 bytes (invalid sequences become U+FFFD). Empty on out-of-memory only;
// `NewString` returns the empty string then.
v8::Local<v8::String> NewString(v8::Isolate* isolate, std::string_view utf8);
// The same, internalized: for property names (V8 internalizes keys anyway) and strings that
// recur, such as header names.
v8::Local<v8::String> NewInternalizedString(v8::Isolate* isolate, std::string_view utf8);
// UTF-8 of any value's string conversion ("" when the conversion throws).
std::string ToUtf8(v8::Isolate* isolate, v8::Local<v8::Value> value);
// UTF-8 of a string without conversion.
std::string StringToUtf8(v8::Isolate* isolate, v8::Local<v8::String> value);

// What user code threw, described for a user.
struct ExceptionInfo {
  std::string type;     // "TypeError"; for a non-Error value "Error"
  std::string message;  // error.message, or String(value) for a non-Error value
  std::string stack;    // error.stack when it is a string, else "type: message"
  std::string file;     // resource name where the exception was raised, if known
  int line = 0;         // 1-based, 0 if unknown
};

// Describes `exception`; `message` (from a TryCatch, may be empty) supplies file and line.
ExceptionInfo DescribeException(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                v8::Local<v8::Value> exception, v8::Local<v8::Message> message);

// "index.mjs:3: SyntaxError: Unexpected token '}'" (the location is left out when unknown).
std::string FormatLocated(const ExceptionInfo& info);

}  // namespace flint::runtime
