// Maps what a handler returned to an InvokeResult, as Lambda function URLs do.
//
//   {statusCode, headers, cookies, body, isBase64Encoded}  -> that response (statusCode makes an
//                                                             object a response)
//   a string                                               -> 200, application/json, the string
//   undefined                                              -> 200, empty body
//   anything else (object, array, number, boolean, null)   -> 200, application/json,
//                                                             JSON.stringify(value)
//
// An invalid response (statusCode outside 100-599, a non-string body, a bad header, invalid
// base64, a value JSON.stringify rejects) becomes outcome kError with a message saying what.
// May run user JS (getters, toJSON): call it inside a watchdog window; it returns nullopt if JS
// was terminated meanwhile. Needs a HandleScope and the entered context.
#pragma once

#include <v8.h>

#include <optional>

#include "sdk/protocol/messages.h"

namespace flint::runtime {

// The property names MapHandlerResult reads, made once per isolate (a name made per call costs
// an allocation and a lookup in V8's string table each time).
class ResultKeys {
 public:
  explicit ResultKeys(v8::Isolate* isolate);
  v8::Local<v8::String> status_code(v8::Isolate* i) const { return status_code_.Get(i); }
  v8::Local<v8::String> headers(v8::Isolate* i) const { return headers_.Get(i); }
  v8::Local<v8::String> cookies(v8::Isolate* i) const { return cookies_.Get(i); }
  v8::Local<v8::String> body(v8::Isolate* i) const { return body_.Get(i); }
  v8::Local<v8::String> is_base64(v8::Isolate* i) const { return is_base64_.Get(i); }

 private:
  v8::Eternal<v8::String> status_code_, headers_, cookies_, body_, is_base64_;
};

std::optional<protocol::InvokeResult> MapHandlerResult(v8::Isolate* isolate,
                                                       v8::Local<v8::Context> context,
                                                       v8::Local<v8::Value> value,
                                                       const ResultKeys& keys);

}  // namespace flint::runtime
