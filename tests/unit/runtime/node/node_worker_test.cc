// The Node.js runtime: flint-worker --runtime node (Node.js with Flint's addon and bootstrap),
// driven over a socketpair on fd 3 as flintd drives it.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "sdk/protocol/frame.h"
#include "sdk/protocol/messages.h"
#include "tests/support/skip_unless_root.h"
#include "tests/support/worker_process.h"

namespace flint::runtime {
namespace {

using nlohmann::json;
using protocol::LogLevel;
using protocol::MessageType;
using protocol::Outcome;
using testing::CodeDir;
using testing::Frame;
using testing::ReadProc;
using testing::ResultOf;

class NodeWorker : public testing::WorkerProcess {
 public:
  explicit NodeWorker(const std::vector<std::string>& extra = {})
      : testing::WorkerProcess(FLINT_WORKER_PATH, "node", extra) {}
};

// LOADED or LOAD_FAILED after HELLO and LOAD.
Frame LoadFunction(testing::WorkerProcess& w, const std::string& code_dir, const std::string& entry,
                   uint32_t timeout_ms = 5000, uint32_t memory_mb = 128,
                   const std::string& code_cache = "") {
  Frame hello = w.Expect(MessageType::kHello);
  Result<protocol::Hello> h = protocol::Hello::Decode(hello.payload);
  REQUIRE(h.ok());
  CHECK(h->runtime == "node");
  CHECK(h->protocol_version == protocol::kProtocolVersion);
  protocol::LoadRequest load;
  load.function_name = "fn";
  load.function_version = 7;
  load.runtime = "node";
  load.code_dir = code_dir;
  load.entry = entry;
  load.memory_mb = memory_mb;
  load.timeout_ms = timeout_ms;
  load.env = {{"GREETING", "Hello"}};
  load.code_cache = code_cache;
  w.Send(MessageType::kLoad, 0, load.Encode());
  return w.ExpectEither(MessageType::kLoaded, MessageType::kLoadFailed);
}

void RequireLoaded(const Frame& f) {
  if (f.type == MessageType::kLoadFailed) {
    FAIL("LOAD_FAILED: " << protocol::LoadFailed::Decode(f.payload)->message);
  }
  REQUIRE(f.type == MessageType::kLoaded);
}

std::string LoadFailure(const Frame& f) {
  REQUIRE(f.type == MessageType::kLoadFailed);
  return protocol::LoadFailed::Decode(f.payload)->message;
}

protocol::InvokeRequest Http(const std::string& path, const std::string& query = "",
                             uint32_t timeout_ms = 5000) {
  protocol::InvokeRequest r;
  r.kind = protocol::InvokeKind::kHttp;
  r.timeout_ms = timeout_ms;
  r.time_epoch_ms = 1700000000000;
  r.request_id = "req-" + path;
  r.method = "GET";
  r.raw_path = path;
  r.raw_query = query;
  r.source_ip = "203.0.113.7";
  r.headers = {{"host", "fn.example.com"}, {"user-agent", "test"}};
  return r;
}

protocol::InvokeResult Call(testing::WorkerProcess& w, uint64_t id,
                            const protocol::InvokeRequest& request) {
  w.Send(MessageType::kInvoke, id, request.Encode());
  Frame f = w.Expect(MessageType::kResult);
  REQUIRE(f.id == id);
  return ResultOf(f);
}

std::string Header(const protocol::InvokeResult& r, const std::string& name) {
  std::string out;
  for (const auto& [n, v] : r.headers) {
    if (n == name) out += (out.empty() ? "" : "|") + v;
  }
  return out;
}

void Shutdown(testing::WorkerProcess& w) {
  w.Send(MessageType::kShutdown, 0, "");
  w.Drain();
  CHECK(w.Wait() == 0);
}

TEST_CASE("A Node.js worker loads a CommonJS handler with built-ins and answers Lambda-style",
          "[node]") {
  CodeDir dir;
  dir.Write(
      "index.js",
      "const crypto = require('node:crypto');\n"
      "const zlib = require('zlib');\n"
      "console.log('loading', typeof Buffer, typeof fetch);\n"
      "exports.handler = async (event, context) => {\n"
      "  console.log('hi', event.queryStringParameters.name);\n"
      "  await new Promise((r) => setTimeout(r, 1));\n"
      "  console.warn('after await');\n"
      "  return { statusCode: 201, headers: { 'x-sha': crypto.createHash('sha256')\n"
      "      .update('a').digest('hex').slice(0, 8) }, cookies: ['a=1'],\n"
      "    body: JSON.stringify({ greeting: process.env.GREETING, gz: zlib.gzipSync('x').length,\n"
      "      id: context.awsRequestId, fn: context.functionName, v: context.functionVersion,\n"
      "      mem: context.memoryLimitInMB, rem: context.getRemainingTimeInMillis() > 0,\n"
      "      cwd: process.cwd() === __dirname }) };\n"
      "};\n");
  NodeWorker w;
  RequireLoaded(LoadFunction(w, dir.path(), ""));
  REQUIRE(w.LogsOf(0).size() == 1);
  CHECK(w.LogsOf(0)[0].text == "loading function function");
  CHECK(ReadProc(w.pid(), "cmdline").rfind("flint-worker fn@7", 0) == 0);

  protocol::InvokeResult r = Call(w, 42, Http("/", "name=Ada"));
  CHECK(r.outcome == Outcome::kOk);
  CHECK(r.status == 201);
  CHECK(Header(r, "x-sha") == "ca978112");
  CHECK(Header(r, "set-cookie") == "a=1");
  json body = json::parse(r.body);
  CHECK(body["greeting"] == "Hello");
  CHECK(body["id"] == "req-/");
  CHECK(body["fn"] == "fn");
  CHECK(body["v"] == "7");
  CHECK(body["mem"] == "128");
  CHECK(body["rem"] == true);
  CHECK(body["cwd"] == true);
  CHECK(body["gz"].get<int>() > 0);
  REQUIRE(w.LogsOf(42).size() == 2);
  CHECK(w.LogsOf(42)[0].text == "hi Ada");
  CHECK(w.LogsOf(42)[1].text == "after await");
  CHECK(w.LogsOf(42)[1].level == LogLevel::kWarn);
  Frame stats = w.Expect(MessageType::kStats);
  Result<protocol::Stats> s = protocol::Stats::Decode(stats.payload);
  REQUIRE(s.ok());
  CHECK(s->heap_used_bytes > 0);
  CHECK(s->heap_limit_bytes > s->heap_used_bytes);
  CHECK(s->rss_bytes > 0);
  Shutdown(w);
}

TEST_CASE("A Node.js worker resolves handlers as Lambda does", "[node]") {
  CodeDir dir;
  SECTION("index.handler in an ES module (.mjs)") {
    dir.Write("index.mjs",
              "import { createHash } from 'node:crypto';\n"
              "export const handler = async () => createHash('md5').update('').digest('hex');\n");
    NodeWorker w;
    RequireLoaded(LoadFunction(w, dir.path(), "index.handler"));
    CHECK(Call(w, 1, Http("/")).body == "d41d8cd98f00b204e9800998ecf8427e");
    Shutdown(w);
  }
  SECTION("a .js file under package.json type module, named FILE.EXPORT with a path") {
    dir.Write("package.json", R"({"type": "module"})");
    dir.Write("src/app.js", "export const main = { run: async () => 'esm' };\n");
    NodeWorker w;
    RequireLoaded(LoadFunction(w, dir.path(), "src/app.main.run"));
    CHECK(Call(w, 1, Http("/")).body == "esm");
    Shutdown(w);
  }
  SECTION("a .cjs file, and module.exports") {
    dir.Write("package.json", R"({"type": "module"})");
    dir.Write("lib.cjs", "module.exports = { handler: async () => typeof require };\n");
    NodeWorker w;
    RequireLoaded(LoadFunction(w, dir.path(), "lib.handler"));
    CHECK(Call(w, 1, Http("/")).body == "function");
    Shutdown(w);
  }
  SECTION("package.json main when no entry is given") {
    dir.Write("package.json", R"({"main": "dist/server"})");
    dir.Write("dist/server.js", "exports.handler = async () => 'main';\n");
    NodeWorker w;
    RequireLoaded(LoadFunction(w, dir.path(), ""));
    CHECK(Call(w, 1, Http("/")).body == "main");
    Shutdown(w);
  }
  SECTION("a file of the function, with its handler export (as the lean runtime takes it)") {
    dir.Write("handler.mjs", "export default async (event) => event.rawPath;\n");
    NodeWorker w;
    RequireLoaded(LoadFunction(w, dir.path(), "handler.mjs"));
    CHECK(Call(w, 1, Http("/p")).body == "/p");
    Shutdown(w);
  }
  SECTION("require of the function's own files and of its node_modules") {
    dir.Write("node_modules/greet/package.json", R"({"name": "greet", "main": "lib/g.js"})");
    dir.Write("node_modules/greet/lib/g.js", "module.exports = (n) => `hi ${n}`;\n");
    dir.Write("util.js", "exports.up = (s) => s.toUpperCase();\n");
    dir.Write("index.js",
              "const greet = require('greet');\nconst { up } = require('./util');\n"
              "exports.handler = async () => up(greet('ada'));\n");
    NodeWorker w;
    RequireLoaded(LoadFunction(w, dir.path(), ""));
    CHECK(Call(w, 1, Http("/")).body == "HI ADA");
    Shutdown(w);
  }
}

TEST_CASE("A Node.js worker fails LOAD naming the file, the line and the missing module",
          "[node]") {
  CodeDir dir;
  SECTION("a missing package, CommonJS") {
    dir.Write("index.js",
              "const ok = require('path');\nconst jwt = require('jsonwebtoken');\n"
              "exports.handler = async () => 1;\n");
    NodeWorker w;
    CHECK(LoadFailure(LoadFunction(w, dir.path(), "")) ==
          "index.js:2: Error [MODULE_NOT_FOUND]: Cannot find module 'jsonwebtoken'");
    CHECK(w.Wait() == 1);
  }
  SECTION("a missing package required from one of the function's files") {
    dir.Write("index.js", "require('./lib/db');\nexports.handler = async () => 1;\n");
    dir.Write("lib/db.js", "\n\nconst pg = require('pg');\n");
    NodeWorker w;
    CHECK(LoadFailure(LoadFunction(w, dir.path(), "")) ==
          "lib/db.js:3: Error [MODULE_NOT_FOUND]: Cannot find module 'pg'");
  }
  SECTION("a missing package, ES module") {
    dir.Write("index.mjs",
              "import path from 'node:path';\nimport { sign } from 'jose';\n"
              "export const handler = async () => 1;\n");
    NodeWorker w;
    CHECK(LoadFailure(LoadFunction(w, dir.path(), "")) ==
          "index.mjs:2: Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'jose' imported from "
          "index.mjs");
  }
  SECTION("a syntax error") {
    dir.Write("index.js", "exports.handler = async () => {\n  return 1;\n}}\n");
    NodeWorker w;
    CHECK(LoadFailure(LoadFunction(w, dir.path(), "")) ==
          "index.js:3: SyntaxError: Unexpected token '}'");
  }
  SECTION("a syntax error in an ES module it imports") {
    dir.Write("index.mjs", "import { x } from './lib/x.mjs';\nexport const handler = () => x;\n");
    dir.Write("lib/x.mjs", "export const x = 1;\n\nexport const y = {;\n");
    NodeWorker w;
    CHECK(LoadFailure(LoadFunction(w, dir.path(), "")) ==
          "lib/x.mjs:3: SyntaxError: Unexpected token ';'");
  }
  SECTION("an exception at the top level") {
    dir.Write("index.mjs", "const x = 1;\nthrow new TypeError('no config');\n");
    NodeWorker w;
    CHECK(LoadFailure(LoadFunction(w, dir.path(), "index.handler")) ==
          "index.mjs:2: TypeError: no config");
  }
  SECTION("no handler") {
    dir.Write("index.js", "exports.other = () => 1;\n");
    NodeWorker w;
    CHECK(LoadFailure(LoadFunction(w, dir.path(), "")) ==
          "index.js: no handler: export a function named 'handler' (a Lambda handler), or a "
          "default export with a fetch method (Web-standard)");
  }
  SECTION("a handler naming no file") {
    dir.Write("index.js", "exports.handler = () => 1;\n");
    NodeWorker w;
    CHECK(LoadFailure(LoadFunction(w, dir.path(), "app.handler")) ==
          "app.handler: the function has no file app.js, app.mjs or app.cjs");
  }
  SECTION("a module that never finishes loading") {
    dir.Write("index.mjs", "await new Promise(() => {});\nexport const handler = () => 1;\n");
    NodeWorker w;
    CHECK(LoadFailure(LoadFunction(w, dir.path(), "", 200)) ==
          "index.mjs: loading the module timed out after 200 ms");
  }
}

TEST_CASE("A Node.js worker serves a Web-standard fetch handler", "[node]") {
  CodeDir dir;
  dir.Write(
      "index.mjs",
      "export default {\n"
      "  async fetch(request, env, ctx) {\n"
      "    const body = await request.text();\n"
      "    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body));\n"
      "    ctx.waitUntil(Promise.resolve());\n"
      "    const h = new Headers({ 'content-type': 'application/json', 'x-a': '1' });\n"
      "    h.append('set-cookie', 'a=1'); h.append('set-cookie', 'b=2');\n"
      "    return new Response(JSON.stringify({ url: request.url, method: request.method,\n"
      "      type: request.headers.get('content-type'), body, greeting: env.GREETING,\n"
      "      sha: Buffer.from(digest).toString('hex').slice(0, 8) }), { status: 202, headers: h "
      "});\n"
      "  },\n"
      "  async event(event, env) { return { got: event.n, greeting: env.GREETING }; },\n"
      "};\n");
  NodeWorker w;
  RequireLoaded(LoadFunction(w, dir.path(), ""));
  protocol::InvokeRequest post = Http("/users/1", "a=b&c=d");
  post.method = "POST";
  post.headers.emplace_back("content-type", "text/plain");
  post.headers.emplace_back("x-forwarded-proto", "https");
  post.body = "hello";
  protocol::InvokeResult r = Call(w, 1, post);
  CHECK(r.outcome == Outcome::kOk);
  CHECK(r.status == 202);
  CHECK(Header(r, "x-a") == "1");
  CHECK(Header(r, "set-cookie") == "a=1|b=2");
  json body = json::parse(r.body);
  CHECK(body["url"] == "https://fn.example.com/users/1?a=b&c=d");
  CHECK(body["method"] == "POST");
  CHECK(body["type"] == "text/plain");
  CHECK(body["body"] == "hello");
  CHECK(body["greeting"] == "Hello");
  CHECK(body["sha"] == "2cf24dba");

  protocol::InvokeRequest event;
  event.kind = protocol::InvokeKind::kEvent;
  event.timeout_ms = 5000;
  event.request_id = "ev-1";
  event.body = R"({"n": 5})";
  protocol::InvokeResult e = Call(w, 2, event);
  CHECK(e.outcome == Outcome::kOk);
  CHECK(json::parse(e.body) == json{{"got", 5}, {"greeting", "Hello"}});
  Shutdown(w);
}

TEST_CASE("A Node.js fetch handler's errors and non-Responses fail the invocation", "[node]") {
  CodeDir dir;
  dir.Write("index.js",
            "module.exports = { async fetch(request) {\n"
            "  const p = new URL(request.url).pathname;\n"
            "  if (p === '/throw') throw new RangeError('bad range');\n"
            "  if (p === '/not') return { hello: 1 };\n"
            "  return new Response(null, { status: 204 });\n"
            "} };\n");
  NodeWorker w;
  RequireLoaded(LoadFunction(w, dir.path(), ""));
  protocol::InvokeResult thrown = Call(w, 1, Http("/throw"));
  CHECK(thrown.outcome == Outcome::kError);
  CHECK(thrown.error_type == "RangeError");
  CHECK(thrown.error_message == "bad range");
  protocol::InvokeResult not_response = Call(w, 2, Http("/not"));
  CHECK(not_response.outcome == Outcome::kError);
  CHECK(not_response.error_message == "the fetch handler must return a Response, not object");
  protocol::InvokeResult empty = Call(w, 3, Http("/"));
  CHECK(empty.status == 204);
  CHECK(empty.body.empty());
  Shutdown(w);
}

TEST_CASE("A Node.js worker honours callback handlers and callbackWaitsForEmptyEventLoop",
          "[node]") {
  CodeDir dir;
  dir.Write("index.js",
            "let ran = 0;\n"
            "exports.handler = (event, context, callback) => {\n"
            "  if (event.rawPath === '/nowait') context.callbackWaitsForEmptyEventLoop = false;\n"
            "  if (event.rawPath === '/error') return callback(new Error('via callback'));\n"
            "  setTimeout(() => { ran++; }, 20);\n"
            "  callback(null, { statusCode: 200, body: String(ran) });\n"
            "};\n");
  NodeWorker w;
  RequireLoaded(LoadFunction(w, dir.path(), ""));
  // Waits for its timer before the result is taken, so the count is read... before: the body
  // was fixed when callback() ran. The next invocation sees the timer has run.
  CHECK(Call(w, 1, Http("/")).body == "0");
  CHECK(Call(w, 2, Http("/nowait")).body == "1");
  // The timer of the invocation that did not wait was cleared when it ended.
  CHECK(Call(w, 3, Http("/nowait")).body == "1");
  protocol::InvokeResult e = Call(w, 4, Http("/error"));
  CHECK(e.outcome == Outcome::kError);
  CHECK(e.error_message == "via callback");
  Shutdown(w);
}

const char* kHostile =
    "exports.handler = async (event) => {\n"
    "  const p = event.rawPath;\n"
    "  if (p === '/spin') for (;;) {}\n"
    "  if (p === '/spin-later') { await new Promise((r) => setTimeout(r, 5)); for (;;) {} }\n"
    "  if (p === '/spin-timer') { setTimeout(() => { for (;;) {} }, 5); return new Promise(() => "
    "{}); }\n"
    "  if (p === '/hang') return new Promise(() => {});\n"
    "  if (p === '/leak') { setInterval(() => console.log('leaked'), 5); throw new Error('x'); }\n"
    "  if (p === '/million') { for (let i = 0; i < 1e6; i++) clearTimeout(setTimeout(() => {}, "
    "1e4)); return 'done'; }\n"
    "  if (p === '/too-many') { for (let i = 0; i < 1e6; i++) setTimeout(() => {}, 1e6); }\n"
    "  if (p === '/timer-throw') { setTimeout(() => { throw new TypeError('in a timer'); }, 1); "
    "return new Promise(() => {}); }\n"
    "  if (p === '/reject') { Promise.reject(new Error('unhandled')); return 'ok'; }\n"
    "  if (p === '/stdout') { process.stdout.write('a '); process.stdout.write('b\\nc\\n'); "
    "process.stderr.write('e\\n'); return 'ok'; }\n"
    "  if (p === '/heap') { const a = []; for (;;) a.push(new Array(10000).fill(a.length)); }\n"
    "  if (p === '/buffers') { const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1)); }\n"
    "  if (p === '/exit') process.exit(4);\n"
    "  return 'ok';\n"
    "};\n";

TEST_CASE("A Node.js worker stops handlers at their deadline and keeps serving", "[node]") {
  CodeDir dir;
  dir.Write("index.js", kHostile);
  NodeWorker w;
  RequireLoaded(LoadFunction(w, dir.path(), ""));
  for (const char* path : {"/spin", "/spin-later", "/spin-timer", "/hang"}) {
    INFO(path);
    protocol::InvokeResult r = Call(w, 1, Http(path, "", 200));
    CHECK(r.outcome == Outcome::kTimeout);
    CHECK(r.status == 504);
    CHECK(r.error_message == "function timed out after 200 ms");
    CHECK(Call(w, 2, Http("/")).body == "ok");
  }
  Shutdown(w);
}

TEST_CASE("A Node.js worker clears an invocation's timers and bounds them", "[node]") {
  CodeDir dir;
  dir.Write("index.js", kHostile);
  NodeWorker w;
  RequireLoaded(LoadFunction(w, dir.path(), ""));
  CHECK(Call(w, 1, Http("/leak")).outcome == Outcome::kError);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(Call(w, 2, Http("/million", "", 30000)).body == "done");
  protocol::InvokeResult many = Call(w, 3, Http("/too-many", "", 30000));
  CHECK(many.outcome == Outcome::kError);
  CHECK(many.error_type == "RangeError");
  CHECK(many.error_message ==
        "too many pending timers: an invocation may have at most 100000 timers and immediates "
        "pending at once");
  CHECK(Call(w, 4, Http("/")).body == "ok");
  Shutdown(w);
  CHECK(w.LogsOf(1).size() == 1);  // the error's stack; the interval never ran
  CHECK(w.LogsOf(0).empty());
}

TEST_CASE("A Node.js worker reports uncaught errors, rejections and output", "[node]") {
  CodeDir dir;
  dir.Write("index.js", kHostile);
  NodeWorker w;
  RequireLoaded(LoadFunction(w, dir.path(), ""));
  protocol::InvokeResult t = Call(w, 1, Http("/timer-throw"));
  CHECK(t.outcome == Outcome::kError);
  CHECK(t.error_type == "TypeError");
  CHECK(t.error_message == "in a timer");
  CHECK(Call(w, 2, Http("/reject")).body == "ok");
  CHECK(Call(w, 3, Http("/stdout")).body == "ok");
  Shutdown(w);
  bool rejection_logged = false;
  for (const auto& line : w.LogsOf(2)) {
    rejection_logged |= line.text.rfind("Unhandled promise rejection: Error: unhandled", 0) == 0;
  }
  CHECK(rejection_logged);
  std::vector<protocol::LogLine> out = w.LogsOf(3);
  REQUIRE(out.size() == 3);
  CHECK(out[0].text == "a b");
  CHECK(out[1].text == "c");
  CHECK(out[2].text == "e");
  CHECK(out[2].level == LogLevel::kError);
}

TEST_CASE("A Node.js worker stops a memory bomb with the memory-limit error, then exits 3",
          "[node]") {
  for (const char* path : {"/heap", "/buffers"}) {
    INFO(path);
    CodeDir dir;
    dir.Write("index.js", kHostile);
    NodeWorker w;
    RequireLoaded(LoadFunction(w, dir.path(), "", 30000, 128));
    protocol::InvokeResult r = Call(w, 9, Http(path, "", 30000));
    CHECK(r.outcome == Outcome::kOutOfMemory);
    CHECK(r.error_message == "function exceeded its memory limit of 128 MB");
    CHECK(r.worker_exiting);
    CHECK(w.Wait() == 3);
  }
}

TEST_CASE("process.exit in a Node.js function fails its invocation with a clear error", "[node]") {
  CodeDir dir;
  dir.Write("index.js", kHostile);
  NodeWorker w;
  RequireLoaded(LoadFunction(w, dir.path(), ""));
  protocol::InvokeResult r = Call(w, 5, Http("/exit"));
  CHECK(r.outcome == Outcome::kError);
  CHECK(r.error_type == "Runtime.ExitError");
  CHECK(r.error_message == "Runtime exited: process.exit(4) was called");
  CHECK(r.worker_exiting);
  w.Drain();
  CHECK(w.Wait() == 4);
}

TEST_CASE("A Node.js worker serves concurrent invocations and honours CANCEL", "[node]") {
  CodeDir dir;
  dir.Write("index.mjs",
            "export const handler = async (event) => {\n"
            "  const ms = Number(event.queryStringParameters.wait);\n"
            "  await new Promise((r) => setTimeout(r, ms));\n"
            "  console.log('done', ms);\n"
            "  return String(ms);\n"
            "};\n");
  NodeWorker w;
  RequireLoaded(LoadFunction(w, dir.path(), ""));
  w.Send(MessageType::kInvoke, 10, Http("/", "wait=60").Encode());
  w.Send(MessageType::kInvoke, 11, Http("/", "wait=30").Encode());
  w.Send(MessageType::kCancel, 11, "");
  w.Send(MessageType::kInvoke, 12, Http("/", "wait=1").Encode());
  CHECK(ResultOf(w.Expect(MessageType::kResult)).body == "1");
  CHECK(ResultOf(w.Expect(MessageType::kResult)).body == "60");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Shutdown(w);
  std::vector<uint64_t> ids = w.result_ids();
  CHECK(ids == std::vector<uint64_t>{12, 10});
  REQUIRE(w.LogsOf(10).size() == 1);
  CHECK(w.LogsOf(10)[0].text == "done 60");
  CHECK(w.LogsOf(11).empty());  // its timer was cleared with it
}

TEST_CASE("A Node.js worker exits 2 on a protocol violation and 0 at EOF", "[node]") {
  SECTION("a malformed frame") {
    NodeWorker w;
    w.Expect(MessageType::kHello);
    std::string bad(16, '\0');
    bad[4] = 99;
    w.SendRaw(bad);
    CHECK(w.Wait() == 2);
  }
  SECTION("INVOKE before LOAD") {
    NodeWorker w;
    w.Expect(MessageType::kHello);
    w.Send(MessageType::kInvoke, 1, Http("/").Encode());
    CHECK(w.Wait() == 2);
  }
  SECTION("a LOAD for another runtime") {
    CodeDir dir;
    NodeWorker w;
    w.Expect(MessageType::kHello);
    protocol::LoadRequest load;
    load.runtime = "cpp";
    load.code_dir = dir.path();
    w.Send(MessageType::kLoad, 0, load.Encode());
    Frame f = w.Expect(MessageType::kLoadFailed);
    CHECK(protocol::LoadFailed::Decode(f.payload)->message ==
          "this worker runs Node.js functions, not 'cpp'");
    CHECK(w.Wait() == 1);
  }
  SECTION("EOF") {
    NodeWorker w;
    w.Expect(MessageType::kHello);
    w.CloseSocket();
    CHECK(w.Wait() == 0);
  }
}

TEST_CASE("A Node.js worker sends V8's code cache once, and a later worker uses it", "[node]") {
  CodeDir dir;
  dir.Write("lib.js", "exports.square = (x) => x * x;\n");
  dir.Write("index.js",
            "#!/usr/bin/env node\n"
            "const { square } = require('./lib');\n"
            "exports.handler = async (event) => {\n"
            "  const inner = (n) => square(n) + 1;\n"
            "  return { statusCode: 200, body: String(inner(Number(event.rawPath.slice(1)))) };\n"
            "};\n");
  std::string cache;
  {
    NodeWorker w;
    RequireLoaded(LoadFunction(w, dir.path(), ""));
    CHECK(Call(w, 1, Http("/3")).body == "10");
    Frame f = w.Expect(MessageType::kCodeCache);
    Result<protocol::CodeCache> decoded = protocol::CodeCache::Decode(f.payload);
    REQUIRE(decoded.ok());
    REQUIRE(decoded->files.size() == 2);
    CHECK(decoded->files[0].first == dir.path() + "/index.js");
    CHECK(decoded->files[1].first == dir.path() + "/lib.js");
    CHECK(!decoded->files[0].second.empty());
    cache = f.payload;
    CHECK(Call(w, 2, Http("/4")).body == "17");
    Shutdown(w);
    CHECK(w.code_caches().size() == 1);  // once
  }
  {
    // With the cache: the same answers, and no new cache.
    NodeWorker w;
    RequireLoaded(LoadFunction(w, dir.path(), "", 5000, 128, cache));
    CHECK(Call(w, 1, Http("/5")).body == "26");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Shutdown(w);
    CHECK(w.code_caches().empty());
  }
  {
    // A damaged cache is ignored: the worker compiles and sends a good one.
    protocol::CodeCache damaged;
    damaged.files = {{dir.path() + "/index.js", "not V8's data"}};
    NodeWorker w;
    RequireLoaded(LoadFunction(w, dir.path(), "", 5000, 128, damaged.Encode()));
    CHECK(Call(w, 1, Http("/2")).body == "5");
    w.Expect(MessageType::kCodeCache);
    Shutdown(w);
  }
}

// The same HTTP request gives the same Lambda event in both JavaScript runtimes.
TEST_CASE("The Node.js and the lean runtime build the same Lambda event", "[node]") {
  CodeDir dir;
  dir.Write("index.mjs", "export const handler = async (event) => JSON.stringify(event);\n");
  protocol::InvokeRequest request = Http("/a%20b/c", "x=1&x=2&y=%C3%A9+z&flag");
  request.method = "PUT";
  request.headers.emplace_back("cookie", "s=1; t=2");
  request.headers.emplace_back("x-multi", "1");
  request.headers.emplace_back("x-multi", "2");
  request.body = std::string("bin\xff\x00ary", 8);
  std::string events[2];
  const char* runtimes[] = {"node", "v8"};
  for (int i = 0; i < 2; ++i) {
    testing::WorkerProcess w(FLINT_WORKER_PATH, runtimes[i]);
    w.Expect(MessageType::kHello);
    protocol::LoadRequest load;
    load.function_name = "fn";
    load.function_version = 1;
    load.runtime = runtimes[i];
    load.code_dir = dir.path();
    load.entry = "index.mjs";
    load.timeout_ms = 5000;
    w.Send(MessageType::kLoad, 0, load.Encode());
    w.Expect(MessageType::kLoaded);
    protocol::InvokeResult r = Call(w, 1, request);
    REQUIRE(r.outcome == Outcome::kOk);
    events[i] = r.body;
    Shutdown(w);
  }
  CHECK(json::parse(events[0]) == json::parse(events[1]));
  CHECK(json::parse(events[0])["isBase64Encoded"] == true);
}

// --- the sandbox (root only) -------------------------------------------------------------------

TEST_CASE("A sandboxed Node.js worker contains child_process, process.kill and fs writes",
          "[node][sandbox]") {
  FLINT_SKIP_UNLESS_ROOT("namespaces and the sandbox");
  CodeDir store;
  store.Write(
      "fn/index.js",
      "const fs = require('fs');\n"
      "const cp = require('child_process');\n"
      "const attempt = (f) => { try { return f(); } catch (e) { return e.code || e.message; } };\n"
      "exports.handler = async () => ({\n"
      "  writeCode: attempt(() => fs.writeFileSync(__dirname + '/x', 'x')),\n"
      "  writeEtc: attempt(() => fs.writeFileSync('/etc/flint-test', 'x')),\n"
      "  writeTmp: attempt(() => { fs.writeFileSync('/tmp/x', 'y'); return "
      "fs.readFileSync('/tmp/x', 'utf8'); }),\n"
      "  uid: process.getuid(), pid: process.pid, ppid: process.ppid,\n"
      "  killParent: attempt(() => process.kill(process.ppid, 'SIGKILL')),\n"
      "  child: attempt(() => cp.execFileSync('/bin/sh', ['-c', 'id -u; ls /proc | grep -c "
      "\"^[0-9]\"'], { encoding: 'utf8' })),\n"
      "  node: attempt(() => cp.execFileSync(process.execPath, ['-e', 'console.log(1+1)'], { "
      "encoding: 'utf8' })),\n"
      "  root: fs.readdirSync('/').sort(),\n"
      "});\n");
  testing::WorkerProcess w(FLINT_WORKER_PATH, "node",
                           {"--sandbox", "on", "--code-root", store.path()});
  RequireLoaded(LoadFunction(w, store.path() + "/fn", ""));
  protocol::InvokeResult r = Call(w, 1, Http("/", "", 10000));
  REQUIRE(r.outcome == Outcome::kOk);
  json b = json::parse(r.body);
  INFO(r.body);
  CHECK(b["writeCode"] == "EROFS");
  CHECK(b["writeEtc"] == "EROFS");
  CHECK(b["writeTmp"] == "y");
  CHECK(b["uid"] == 65534);
  CHECK(b["pid"] == 2);
  CHECK(b["ppid"] == 1);
  CHECK(b["killParent"] == "EPERM");
  // A child runs as nobody and sees only the processes of its sandbox (itself, its shell, the
  // worker and PID 1).
  CHECK(b["child"].get<std::string>().rfind("65534\n", 0) == 0);
  CHECK(std::stoi(b["child"].get<std::string>().substr(6)) <= 5);
  CHECK(b["node"] == "2\n");
  CHECK(std::find(b["root"].begin(), b["root"].end(), "home") == b["root"].end());
  CHECK(Call(w, 2, Http("/")).outcome == Outcome::kOk);  // the worker is unharmed
  Shutdown(w);
}

TEST_CASE("A sandboxed Node.js worker survives its function killing every process it can",
          "[node][sandbox]") {
  FLINT_SKIP_UNLESS_ROOT("namespaces and the sandbox");
  CodeDir store;
  store.Write("fn/index.js",
              "exports.handler = async () => require('child_process')"
              ".execSync('kill -9 -1; echo after', { encoding: 'utf8' });\n");
  testing::WorkerProcess w(FLINT_WORKER_PATH, "node",
                           {"--sandbox", "on", "--code-root", store.path()});
  RequireLoaded(LoadFunction(w, store.path() + "/fn", ""));
  w.Send(MessageType::kInvoke, 1, Http("/").Encode());
  // Every process of the sandbox's user dies, the worker with them: flintd sees the channel
  // close and replaces the worker. Nothing outside the sandbox is touched (this test process
  // still runs, and so does the shell it was started from).
  w.Drain();
  CHECK(::kill(::getpid(), 0) == 0);
}

}  // namespace
}  // namespace flint::runtime
