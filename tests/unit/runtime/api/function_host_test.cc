// FunctionHost in-process: loading modules, the Lambda event and context, result mapping,
// errors, timeouts and the memory budget.
#include "runtime/api/function_host.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "runtime/api/lambda_event.h"
#include "tests/unit/runtime/api/test_function.h"

namespace flint::runtime {
namespace {

using protocol::InvokeResult;
using protocol::Outcome;
using testing::TestFunction;
using json = nlohmann::json;

std::string HeaderOf(const InvokeResult& r, const std::string& name) {
  std::string out;
  for (const auto& [n, v] : r.headers) {
    if (n == name) out += (out.empty() ? "" : "|") + v;
  }
  return out;
}

TEST_CASE("FunctionHost builds a Lambda function-URL event for an HTTP invocation", "[host]") {
  TestFunction fn;
  fn.LoadCode("export const handler = (event) => event;\n");
  InvokeResult r = fn.Http("POST", "/orders/7", "a=1&b=x%20y&a=2&flag",
                           {{"host", "fn.example.com:8080"},
                            {"user-agent", "curl/8"},
                            {"x-multi", "one"},
                            {"x-multi", "two"},
                            {"cookie", "s=1; theme=dark"}},
                           "{\"n\":1}");
  REQUIRE(r.outcome == Outcome::kOk);
  CHECK(HeaderOf(r, "content-type") == "application/json");
  json e = json::parse(r.body);
  CHECK(e["version"] == "2.0");
  CHECK(e["routeKey"] == "$default");
  CHECK(e["rawPath"] == "/orders/7");
  CHECK(e["rawQueryString"] == "a=1&b=x%20y&a=2&flag");
  CHECK(e["cookies"] == json::array({"s=1", "theme=dark"}));
  CHECK(e["headers"]["x-multi"] == "one,two");
  CHECK(e["headers"]["user-agent"] == "curl/8");
  CHECK_FALSE(e["headers"].contains("cookie"));
  CHECK(e["queryStringParameters"] == json({{"a", "1,2"}, {"b", "x y"}, {"flag", ""}}));
  const json& rc = e["requestContext"];
  CHECK(rc["accountId"] == "anonymous");
  CHECK(rc["apiId"] == "test-fn");
  CHECK(rc["domainName"] == "fn.example.com");
  CHECK(rc["domainPrefix"] == "fn");
  CHECK(rc["http"]["method"] == "POST");
  CHECK(rc["http"]["path"] == "/orders/7");
  CHECK(rc["http"]["protocol"] == "HTTP/1.1");
  CHECK(rc["http"]["sourceIp"] == "203.0.113.9");
  CHECK(rc["http"]["userAgent"] == "curl/8");
  CHECK(rc["requestId"] == "req-1");
  CHECK(rc["stage"] == "$default");
  CHECK(rc["time"] == "12/Mar/2024:19:03:58 +0000");
  CHECK(rc["timeEpoch"] == 1710270238000);
  CHECK(e["body"] == "{\"n\":1}");
  CHECK(e["isBase64Encoded"] == false);
}

TEST_CASE("FunctionHost base64-encodes a binary request body and omits an empty one", "[host]") {
  TestFunction fn;
  fn.LoadCode("export const handler = (event) => event;\n");
  json binary = json::parse(fn.Http("PUT", "/", "", {}, std::string("\xff\x00\x01", 3)).body);
  CHECK(binary["body"] == "/wAB");
  CHECK(binary["isBase64Encoded"] == true);
  CHECK_FALSE(binary.contains("queryStringParameters"));
  CHECK_FALSE(binary.contains("cookies"));
  json empty = json::parse(fn.Http("GET", "/").body);
  CHECK_FALSE(empty.contains("body"));
  CHECK(empty["isBase64Encoded"] == false);
  CHECK(empty["requestContext"]["domainName"] == "localhost");
}

TEST_CASE("FunctionHost builds the event BuildHttpEventJson describes, key for key", "[host]") {
  // The host builds the event in V8 (makeHttpEvent); BuildHttpEventJson renders it as text for
  // runtimes that parse it. Both must agree on every key, value and the key order.
  TestFunction fn;
  fn.LoadCode(
      "export const handler = (event) => ({ statusCode: 200, body: JSON.stringify(event) });\n");
  struct Case {
    std::string method, path, query;
    std::vector<protocol::Header> headers;
    std::string body;
  };
  std::vector<Case> cases = {
      {"GET", "/", "", {}, ""},
      {"POST",
       "/orders/7",
       "a=1&b=x%20y&a=2&flag",
       {{"host", "fn.example.com:8080"},
        {"user-agent", "curl/8"},
        {"x-multi", "one"},
        {"x-multi", "two"},
        {"cookie", "s=1; theme=dark"}},
       "{\"n\":1}"},
      {"PUT", "/bin", "", {{"host", "[::1]:8080"}}, std::string("\xff\x00\x01", 3)},
      {"GET",
       "/\xc3\xa9t\xc3\xa9",
       "q=%E2%9C%93&__proto__=x",
       {{"__proto__", "p"}, {"x-quote", "say \"hi\"\\"}},
       ""},
      {"DELETE", "/x", "", {{"cookie", ""}, {"host", "localhost"}}, "text body\n"},
  };
  for (const Case& c : cases) {
    InvokeResult r = fn.Http(c.method, c.path, c.query, c.headers, c.body);
    REQUIRE(r.outcome == Outcome::kOk);
    protocol::InvokeRequest request;
    request.kind = protocol::InvokeKind::kHttp;
    request.time_epoch_ms = 1710270238000;
    request.request_id = "req-" + std::to_string(fn.last_id());
    request.method = c.method;
    request.raw_path = c.path;
    request.raw_query = c.query;
    request.source_ip = "203.0.113.9";
    request.headers = c.headers;
    request.body = c.body;
    INFO(c.method << " " << c.path << "?" << c.query);
    CHECK(nlohmann::ordered_json::parse(r.body) ==
          nlohmann::ordered_json::parse(BuildHttpEventJson(request, "test-fn")));
  }
}

TEST_CASE("FunctionHost passes the event JSON of an event invocation as the event", "[host]") {
  TestFunction fn;
  fn.LoadCode("export const handler = (event) => ({ got: event, type: typeof event });\n");
  CHECK(json::parse(fn.Event("{\"order\":42}").body) ==
        json({{"got", {{"order", 42}}}, {"type", "object"}}));
  InvokeResult bad = fn.Event("{not json");
  CHECK(bad.outcome == Outcome::kError);
  CHECK(bad.error_message.find("not valid JSON") != std::string::npos);
}

TEST_CASE("FunctionHost gives the handler a Lambda-style context", "[host]") {
  TestFunction fn;
  fn.LoadCode(
      "export const handler = (event, context) => ({\n"
      "  requestId: context.requestId, awsRequestId: context.awsRequestId,\n"
      "  functionName: context.functionName, functionVersion: context.functionVersion,\n"
      "  memoryLimitInMB: context.memoryLimitInMB,\n"
      "  remaining: context.getRemainingTimeInMillis(),\n"
      "  waits: context.callbackWaitsForEmptyEventLoop, env: process.env.FLINT_TEST });\n",
      3000, 256);
  json c = json::parse(fn.Http("GET", "/", "", {}, "", 2000).body);
  CHECK(c["requestId"] == "req-1");
  CHECK(c["awsRequestId"] == "req-1");
  CHECK(c["functionName"] == "test-fn");
  CHECK(c["functionVersion"] == "7");
  CHECK(c["memoryLimitInMB"] == "256");
  CHECK(c["remaining"].get<int>() > 0);
  CHECK(c["remaining"].get<int>() <= 2000);
  CHECK(c["waits"] == false);
  CHECK(c["env"] == "yes");
}

TEST_CASE("A result with statusCode maps to status, headers, cookies and body", "[result]") {
  TestFunction fn;
  fn.LoadCode(
      "export const handler = async () => ({ statusCode: 201,\n"
      "  headers: { 'Content-Type': 'text/plain', 'x-count': 3, 'x-skip': undefined },\n"
      "  cookies: ['a=1; Path=/', 'b=2'], body: 'created' });\n");
  InvokeResult r = fn.Http("GET", "/");
  REQUIRE(r.outcome == Outcome::kOk);
  CHECK(r.status == 201);
  CHECK(HeaderOf(r, "content-type") == "text/plain");
  CHECK(HeaderOf(r, "x-count") == "3");
  CHECK(HeaderOf(r, "x-skip").empty());
  CHECK(HeaderOf(r, "set-cookie") == "a=1; Path=/|b=2");
  CHECK(r.body == "created");
}

TEST_CASE("Any other result is sent as JSON with status 200", "[result]") {
  TestFunction fn;
  fn.LoadCode(
      "export default (event) => ({ obj: { a: [1, 'x'] }, arr: [1, 2], num: 42, nul: null,\n"
      "  str: 'plain text', undef: undefined })[event.rawPath.slice(1)];\n");
  InvokeResult obj = fn.Http("GET", "/obj");
  CHECK(obj.status == 200);
  CHECK(obj.body == "{\"a\":[1,\"x\"]}");
  CHECK(HeaderOf(obj, "content-type") == "application/json");
  CHECK(fn.Http("GET", "/arr").body == "[1,2]");
  CHECK(fn.Http("GET", "/num").body == "42");
  CHECK(fn.Http("GET", "/nul").body == "null");
  InvokeResult str = fn.Http("GET", "/str");
  CHECK(str.body == "plain text");
  CHECK(HeaderOf(str, "content-type") == "application/json");
  InvokeResult undef = fn.Http("GET", "/undef");
  CHECK(undef.outcome == Outcome::kOk);
  CHECK(undef.status == 200);
  CHECK(undef.body.empty());
}

TEST_CASE("A base64 result body is decoded to bytes", "[result]") {
  TestFunction fn;
  fn.LoadCode(
      "export const handler = () => ({ statusCode: 200, isBase64Encoded: true,\n"
      "  body: btoa(String.fromCharCode(0, 255, 10)) });\n");
  InvokeResult r = fn.Http("GET", "/");
  CHECK(r.body == std::string("\x00\xff\n", 3));
}

TEST_CASE("An invalid response is an error that says why", "[result]") {
  TestFunction fn;
  fn.LoadCode(
      "const cases = { status: { statusCode: 42 }, body: { statusCode: 200, body: { a: 1 } },\n"
      "  header: { statusCode: 200, headers: { 'x': 'a\\r\\nb' } },\n"
      "  cyclic: (() => { const o = {}; o.o = o; return o; })() };\n"
      "export const handler = (event) => cases[event.rawPath.slice(1)];\n");
  InvokeResult status = fn.Http("GET", "/status");
  CHECK(status.outcome == Outcome::kError);
  CHECK(status.error_message.find("statusCode must be an integer from 100 to 599") !=
        std::string::npos);
  InvokeResult body = fn.Http("GET", "/body");
  CHECK(body.outcome == Outcome::kError);
  CHECK(body.error_message.find("body must be a string") != std::string::npos);
  CHECK(fn.Http("GET", "/header").outcome == Outcome::kError);
  InvokeResult cyclic = fn.Http("GET", "/cyclic");
  CHECK(cyclic.outcome == Outcome::kError);
  CHECK(cyclic.error_type == "TypeError");
}

TEST_CASE("A thrown error is reported with its type and message, its stack logged", "[errors]") {
  TestFunction fn;
  fn.LoadCode(
      "class PaymentError extends Error {}\n"
      "export const handler = (event) => {\n"
      "  if (event.rawPath === '/type') null.x;\n"
      "  if (event.rawPath === '/custom') throw new PaymentError('card declined');\n"
      "  if (event.rawPath === '/string') throw 'just a string';\n"
      "  throw new Error('boom');\n"
      "};\n");
  InvokeResult plain = fn.Http("GET", "/");
  CHECK(plain.outcome == Outcome::kError);
  CHECK(plain.error_type == "Error");
  CHECK(plain.error_message == "boom");
  std::string stack = fn.LogsOf(fn.last_id());
  CHECK(stack.find("Error: boom") != std::string::npos);
  CHECK(stack.find("index.mjs:6") != std::string::npos);
  InvokeResult type = fn.Http("GET", "/type");
  CHECK(type.error_type == "TypeError");
  CHECK(type.error_message.find("null") != std::string::npos);
  InvokeResult custom = fn.Http("GET", "/custom");
  CHECK(custom.error_type == "PaymentError");
  CHECK(custom.error_message == "card declined");
  InvokeResult str = fn.Http("GET", "/string");
  CHECK(str.error_type == "Error");
  CHECK(str.error_message == "just a string");
}

TEST_CASE("A rejected promise is reported like a thrown error", "[errors]") {
  TestFunction fn;
  fn.LoadCode(
      "export const handler = async (event) => {\n"
      "  await new Promise((r) => setTimeout(r, 2));\n"
      "  throw new RangeError('too far');\n"
      "};\n");
  InvokeResult r = fn.Http("GET", "/");
  CHECK(r.outcome == Outcome::kError);
  CHECK(r.error_type == "RangeError");
  CHECK(r.error_message == "too far");
  CHECK(fn.LogsOf(fn.last_id()).find("RangeError: too far") != std::string::npos);
}

TEST_CASE("A synchronous endless loop times out and the host serves the next call", "[timeout]") {
  TestFunction fn;
  fn.LoadCode(
      "export const handler = (event) => {\n"
      "  if (event.rawPath === '/spin') for (;;) {}\n"
      "  return 'fine';\n"
      "};\n");
  InvokeResult r = fn.Http("GET", "/spin", "", {}, "", 100);
  CHECK(r.outcome == Outcome::kTimeout);
  CHECK(r.error_message == "function timed out after 100 ms");
  InvokeResult next = fn.Http("GET", "/ok");
  CHECK(next.outcome == Outcome::kOk);
  CHECK(next.body == "fine");
  CHECK(fn.result_count(1) == 1);
}

TEST_CASE("A promise that never settles times out and its timers never fire", "[timeout]") {
  TestFunction fn;
  fn.LoadCode(
      "export const handler = (event) => {\n"
      "  if (event.rawPath === '/hang') {\n"
      "    setTimeout(() => console.log('late timer fired'), 200);\n"
      "    return new Promise(() => {});\n"
      "  }\n"
      "  return 'fine';\n"
      "};\n");
  InvokeResult r = fn.Http("GET", "/hang", "", {}, "", 50);
  CHECK(r.outcome == Outcome::kTimeout);
  CHECK(r.error_message == "function timed out after 50 ms");
  CHECK_FALSE(fn.host().NextWakeupMs().has_value());  // the timer went with the invocation
  fn.Pump(300);
  CHECK(fn.LogsOf(1).find("late timer fired") == std::string::npos);
  CHECK(fn.result_count(1) == 1);
  CHECK(fn.Http("GET", "/").body == "fine");
}

TEST_CASE("An endless microtask loop times out", "[timeout]") {
  TestFunction fn;
  fn.LoadCode("export const handler = async () => { for (;;) await null; };\n");
  InvokeResult r = fn.Http("GET", "/", "", {}, "", 100);
  CHECK(r.outcome == Outcome::kTimeout);
}

TEST_CASE("Exceeding the memory budget reports out-of-memory", "[memory]") {
  TestFunction fn;
  fn.LoadCode(
      "const keep = [];\n"
      "export const handler = (event) => {\n"
      "  const n = Number(event.rawPath.slice(1));\n"
      "  for (let i = 0; i < n; i++) keep.push(new Array(1024).fill(i));\n"
      "  return keep.length;\n"
      "};\n",
      10000, 64);
  // 2,000 arrays of 1 K elements (about 16 MB) fit in the 48 MB budget of a 64 MB function.
  InvokeResult fits = fn.Http("GET", "/2000", "", {}, "", 10000);
  CHECK(fits.outcome == Outcome::kOk);
  CHECK(fn.host().heap_usage().limit_bytes == FunctionHost::HeapBudgetBytes(64));
  InvokeResult r = fn.Http("GET", "/1000000", "", {}, "", 10000);
  CHECK(r.outcome == Outcome::kOutOfMemory);
  CHECK(r.error_message == "function exceeded its memory limit of 64 MB");
  CHECK(fn.host().out_of_memory());
}

TEST_CASE("An ArrayBuffer beyond the memory budget throws a RangeError", "[memory]") {
  TestFunction fn;
  fn.LoadCode("export const handler = () => new ArrayBuffer(200 * 1024 * 1024).byteLength;\n", 3000,
              128);
  InvokeResult r = fn.Http("GET", "/");
  CHECK(r.outcome == Outcome::kError);
  CHECK(r.error_type == "RangeError");
  CHECK_FALSE(fn.host().out_of_memory());
}

TEST_CASE("FunctionHost::HeapBudgetBytes leaves room for the process below the memory size",
          "[memory]") {
  // memory - (32 + memory / 16) MiB, at least 16 MiB.
  CHECK(FunctionHost::HeapBudgetBytes(128) == (88u << 20));
  CHECK(FunctionHost::HeapBudgetBytes(1024) == (928u << 20));
  CHECK(FunctionHost::HeapBudgetBytes(10240) == (9568ull << 20));
  CHECK(FunctionHost::HeapBudgetBytes(16) == (16u << 20));
}

TEST_CASE("A loop of large arrays is stopped at the budget with the memory-limit error",
          "[memory]") {
  TestFunction fn;
  fn.LoadCode(
      "export const handler = () => {\n"
      "  const a = [];\n"
      "  for (;;) a.push(new Array(1e6).fill(Math.random()));\n"
      "};\n",
      30000, 128);
  InvokeResult r = fn.Http("GET", "/", "", {}, "", 30000);
  CHECK(r.outcome == Outcome::kOutOfMemory);
  CHECK(r.error_message == "function exceeded its memory limit of 128 MB");
  CHECK(fn.host().out_of_memory());
  std::string log = fn.LogsOf(1);
  INFO(log);
  CHECK(log.find("memory limit reached: JavaScript held ") != std::string::npos);
  CHECK(log.find(" its budget is 88 MB of the function's 128 MB; stopped ") != std::string::npos);
}

TEST_CASE("Heap and ArrayBuffers share one budget; reaching it is out-of-memory, not a RangeError",
          "[memory]") {
  TestFunction fn;
  fn.LoadCode(
      "export const handler = () => {\n"
      "  const a = [];\n"
      "  for (;;) { a.push(new Uint8Array(1e6).fill(1)); a.push(new Array(1e5).fill(1.5)); }\n"
      "};\n",
      30000, 128);
  InvokeResult r = fn.Http("GET", "/", "", {}, "", 30000);
  CHECK(r.outcome == Outcome::kOutOfMemory);
  CHECK(fn.LogsOf(1).find("RangeError") == std::string::npos);
}

TEST_CASE("Console lines are attributed to their invocation, also after await", "[console]") {
  TestFunction fn;
  fn.LoadCode(
      "console.log('at load');\n"
      "export const handler = async (event) => {\n"
      "  console.log('start', event.rawPath);\n"
      "  await new Promise((r) => setTimeout(r, Number(event.rawPath.slice(1))));\n"
      "  console.warn('end', event.rawPath);\n"
      "  return 'ok';\n"
      "};\n");
  CHECK(fn.LogsOf(0) == "at load");
  protocol::InvokeRequest slow;
  slow.raw_path = "/20";
  protocol::InvokeRequest fast;
  fast.raw_path = "/1";
  fn.Start(11, slow);
  fn.Start(12, fast);
  fn.Wait(11);
  fn.Wait(12);
  CHECK(fn.LogsOf(11) == "start /20\nend /20");
  CHECK(fn.LogsOf(12) == "start /1\nend /1");
  bool warned = false;
  for (const auto& line : fn.logs()) {
    if (line.text == "end /20") warned = line.level == protocol::LogLevel::kWarn;
  }
  CHECK(warned);
}

TEST_CASE("Several pending invocations complete independently", "[host]") {
  TestFunction fn;
  fn.LoadCode(
      "export const handler = async (event) => {\n"
      "  await new Promise((r) => setTimeout(r, Number(event.rawPath.slice(1))));\n"
      "  return event.rawPath;\n"
      "};\n");
  protocol::InvokeRequest a;
  a.raw_path = "/30";
  protocol::InvokeRequest b;
  b.raw_path = "/1";
  fn.Start(1, a);
  fn.Start(2, b);
  CHECK(fn.host().pending_count() == 2);
  CHECK(fn.Wait(2).body == "/1");
  CHECK(fn.Wait(1).body == "/30");
  CHECK(fn.host().pending_count() == 0);
}

TEST_CASE("A cancelled invocation never reports a result", "[host]") {
  TestFunction fn;
  fn.LoadCode("export const handler = () => new Promise((r) => setTimeout(() => r('done'), 5));\n");
  protocol::InvokeRequest request;
  fn.Start(5, request);
  fn.host().Cancel(5);
  CHECK_FALSE(fn.host().is_pending(5));
  fn.Pump(30);
  CHECK(fn.result_count(5) == 0);
}

TEST_CASE("Modules import relative files inside the function directory", "[modules]") {
  TestFunction fn;
  fn.Write("lib/math.js", "export const twice = (x) => 2 * x;\n");
  fn.Write("lib/index.mjs", "export { twice } from './math.js';\n");
  fn.Write(
      "index.mjs",
      "import { twice } from './lib/index.mjs';\n"
      "export const handler = async () => {\n"
      "  const dyn = await import('./lib/math.js');\n"
      "  return { a: twice(21), b: dyn.twice(2), url: import.meta.url.endsWith('/index.mjs') };\n"
      "};\n");
  REQUIRE(fn.Load().ok());
  CHECK(fn.Http("GET", "/").body == "{\"a\":42,\"b\":4,\"url\":true}");
}

TEST_CASE("Bare, built-in and escaping imports are refused with the importing line", "[modules]") {
  {
    TestFunction fn;
    fn.Write("index.mjs",
             "// a comment\nimport fs from 'node:fs';\nexport const handler = () => 1;\n");
    Result<uint64_t> r = fn.Load();
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().rfind("index.mjs:2: cannot import 'node:fs'", 0) == 0);
    CHECK(r.status().message().find("Node.js built-in") != std::string::npos);
  }
  {
    TestFunction fn;
    fn.Write("index.mjs", "import _ from 'lodash';\nexport const handler = () => 1;\n");
    Result<uint64_t> r = fn.Load();
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().rfind("index.mjs:1: cannot import 'lodash'", 0) == 0);
  }
  {
    TestFunction fn;
    fn.Write("index.mjs", "import x from '../../etc/passwd';\nexport const handler = () => 1;\n");
    Result<uint64_t> r = fn.Load();
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("outside the function's directory") != std::string::npos);
  }
  {
    TestFunction fn;
    fn.Write("index.mjs", "import { y } from './missing.mjs';\nexport const handler = () => 1;\n");
    Result<uint64_t> r = fn.Load();
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("no file 'missing.mjs'") != std::string::npos);
  }
}

TEST_CASE("A syntax error is reported with file and line", "[modules]") {
  TestFunction fn;
  fn.Write("index.mjs", "export const handler = () => {\n  return 1;\n}}\n");
  Result<uint64_t> r = fn.Load();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "index.mjs:3: SyntaxError: Unexpected token '}'");
}

TEST_CASE("A syntax error in an imported file names that file", "[modules]") {
  TestFunction fn;
  fn.Write("util.mjs", "export const x = ;\n");
  fn.Write("index.mjs", "import { x } from './util.mjs';\nexport const handler = () => x;\n");
  Result<uint64_t> r = fn.Load();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().rfind("util.mjs:1: SyntaxError:", 0) == 0);
}

TEST_CASE("An error thrown while the module initialises names file and line", "[modules]") {
  TestFunction fn;
  fn.Write("index.mjs", "const a = 1;\nthrow new TypeError('bad config');\n");
  Result<uint64_t> r = fn.Load();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "index.mjs:2: TypeError: bad config");
}

TEST_CASE("A module without a handler is refused with a clear message", "[modules]") {
  TestFunction fn;
  fn.Write("index.mjs", "export const notHandler = () => 1;\n");
  Result<uint64_t> r = fn.Load();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "index.mjs: no handler: export a function named 'handler' or a default export");
  TestFunction fn2;
  fn2.Write("index.mjs", "export const handler = 42;\n");
  Result<uint64_t> r2 = fn2.Load();
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.status().message().find("'handler' is not a function") != std::string::npos);
}

TEST_CASE("Top-level await may wait for timers; a load that runs too long fails", "[modules]") {
  TestFunction fn;
  fn.LoadCode(
      "const config = await new Promise((r) => setTimeout(() => r({ ready: true }), 5));\n"
      "export const handler = () => config;\n");
  CHECK(fn.Http("GET", "/").body == "{\"ready\":true}");

  TestFunction slow;
  slow.Write("index.mjs", "while (true) {}\nexport const handler = () => 1;\n");
  Result<uint64_t> r = slow.Load("index.mjs", 100);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "index.mjs: loading the module timed out after 100 ms");

  TestFunction never;
  never.Write("index.mjs", "await new Promise(() => {});\nexport const handler = () => 1;\n");
  Result<uint64_t> n = never.Load();
  REQUIRE_FALSE(n.ok());
  CHECK(n.status().message().find("top-level await can never finish") != std::string::npos);
}

TEST_CASE("An uncaught exception in a timer fails the invocation that set it", "[timers]") {
  TestFunction fn;
  fn.LoadCode(
      "export const handler = () => new Promise(() => {\n"
      "  setTimeout(() => { throw new SyntaxError('in timer'); }, 1);\n"
      "});\n");
  InvokeResult r = fn.Http("GET", "/");
  CHECK(r.outcome == Outcome::kError);
  CHECK(r.error_type == "SyntaxError");
  CHECK(r.error_message == "in timer");
}

TEST_CASE("An unhandled rejection is logged", "[errors]") {
  TestFunction fn;
  fn.LoadCode(
      "export const handler = () => { Promise.reject(new Error('nobody listens')); return 1; };\n");
  CHECK(fn.Http("GET", "/").outcome == Outcome::kOk);
  CHECK(fn.LogsOf(1).find("Unhandled promise rejection: Error: nobody listens") !=
        std::string::npos);
}

TEST_CASE("A timer flood ends with a RangeError at the bound; the next call has no timer left",
          "[timers]") {
  TestFunction fn;
  fn.LoadCode(
      "globalThis.fired = 0;\n"
      "export const handler = async (event) => {\n"
      "  if (event.rawPath === '/flood') {\n"
      "    for (let i = 0; i < 1e6; i++) setTimeout(() => { globalThis.fired++; }, 1e6);\n"
      "  }\n"
      "  if (event.rawPath === '/some') {\n"
      "    for (let i = 0; i < 10; i++) setTimeout(() => { globalThis.fired++; }, 20);\n"
      "    return 'set';\n"
      "  }\n"
      "  await new Promise((resolve) => setTimeout(resolve, 100));\n"
      "  return String(globalThis.fired);\n"
      "};\n");
  InvokeResult flood = fn.Http("GET", "/flood");
  CHECK(flood.outcome == Outcome::kError);
  CHECK(flood.error_type == "RangeError");
  CHECK(flood.error_message ==
        "too many pending timers: an invocation may have at most 100000 (clear those it no "
        "longer needs)");
  CHECK_FALSE(fn.host().NextWakeupMs().has_value());  // every timer went with the invocation
  // Timers set by an invocation that returned never run in a later one.
  CHECK(fn.Http("GET", "/some").body == "set");
  InvokeResult next = fn.Http("GET", "/");
  CHECK(next.outcome == Outcome::kOk);
  CHECK(next.body == "0");
}

TEST_CASE("After a timer flood times out, the next call meets its own timeout", "[timers]") {
  TestFunction fn;
  fn.LoadCode(
      "export const handler = async (event) => {\n"
      "  if (event.rawPath === '/flood') {\n"
      "    for (let i = 0; i < 1e5; i++) setTimeout(() => {}, 1e6);\n"
      "    for (;;) {}\n"
      "  }\n"
      "  await new Promise(() => {});\n"
      "};\n");
  InvokeResult flood = fn.Http("GET", "/flood", "", {}, "", 2000);
  CHECK(flood.outcome == Outcome::kTimeout);
  CHECK(flood.error_message == "function timed out after 2000 ms");
  InvokeResult next = fn.Http("GET", "/", "", {}, "", 300);
  CHECK(next.outcome == Outcome::kTimeout);
  CHECK(next.error_message == "function timed out after 300 ms");
}

TEST_CASE("A timeout that lands while a timer is being set is still a timeout", "[timers]") {
  TestFunction fn;
  // Past the bound every setTimeout throws (caught here), so the loop keeps entering the host
  // until the watchdog stops it, often inside setTimeout itself.
  fn.LoadCode(
      "export const handler = () => {\n"
      "  for (;;) { try { setTimeout(() => {}, 1e6); } catch (e) {} }\n"
      "};\n");
  InvokeResult r = fn.Http("GET", "/", "", {}, "", 1500);
  CHECK(r.outcome == Outcome::kTimeout);
  CHECK(r.error_message == "function timed out after 1500 ms");
}

}  // namespace
}  // namespace flint::runtime
