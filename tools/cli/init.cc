#include "tools/cli/init.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace flint::cli {
namespace {

namespace fs = std::filesystem;

// ---- js ---------------------------------------------------------------------------------------

constexpr const char* kJsProject =
    R"FLINT(# The function in this folder: `flint deploy` deploys it as it is written here.
# Every key: docs/cli.md, "Project file".
name = "{{name}}"
entry = "index.mjs"
memory = "128M"
timeout = "3s"
exclude = ["*.test.mjs"]

[env]
GREETING = "Hello"

# Uncomment to run the function on a schedule or on a topic's messages:
# [triggers]
# topics = ["greetings"]
#
# [[triggers.schedules]]
# cron = "0 8 * * *"          # 08:00 UTC every day
# data = { name = "cron" }
)FLINT";

constexpr const char* kJsHandler =
    R"FLINT(// {{name}}: a Flint function. One handler serves both shapes of input:
//  - an HTTP request (curl http://127.0.0.1:8080/fn/{{name}}?name=Ada) arrives as a Lambda
//    function-URL event: requestContext.http, rawPath, queryStringParameters, body (text);
//  - an event (flint invoke {{name}} --async -d '{"name":"Ada"}', a schedule, a topic) arrives
//    as the event's JSON itself.
export const handler = async (event, context) => {
  const input = readInput(event);
  const name = input.name ?? "world";
  const greeting = process.env.GREETING ?? "Hello";
  console.log(`greeting ${name}`);
  return { message: `${greeting}, ${name}!` };
};

// The input of either shape as a plain object: an HTTP request's query parameters and JSON
// body, or the event itself.
export function readInput(event) {
  if (event?.requestContext?.http) {
    const input = { ...(event.queryStringParameters ?? {}) };
    if (event.body) {
      const text = event.isBase64Encoded ? atob(event.body) : event.body;
      Object.assign(input, JSON.parse(text));
    }
    return input;
  }
  return event ?? {};
}
)FLINT";

constexpr const char* kJsTest = R"FLINT(// The handler's test, without Flint: node --test
import { test } from "node:test";
import assert from "node:assert/strict";
import { handler } from "./index.mjs";

const context = { requestId: "test", functionName: "{{name}}", getRemainingTimeInMillis: () => 3000 };

test("an HTTP request is greeted by the name in its query", async () => {
  const event = {
    rawPath: "/",
    requestContext: { http: { method: "GET", path: "/" } },
    queryStringParameters: { name: "Ada" },
  };
  assert.deepEqual(await handler(event, context), { message: "Hello, Ada!" });
});

test("an HTTP request is greeted by the name in its JSON body", async () => {
  const event = {
    rawPath: "/",
    requestContext: { http: { method: "POST", path: "/" } },
    body: JSON.stringify({ name: "Grace" }),
    isBase64Encoded: false,
  };
  assert.deepEqual(await handler(event, context), { message: "Hello, Grace!" });
});

test("an event is greeted by its name", async () => {
  assert.deepEqual(await handler({ name: "Bob" }, context), { message: "Hello, Bob!" });
});
)FLINT";

// ---- ts ---------------------------------------------------------------------------------------

constexpr const char* kTsProject =
    R"FLINT(# The function in this folder: `flint deploy` deploys it as it is written here.
# Every key: docs/cli.md, "Project file". Node.js runs the TypeScript as it is (it strips the
# types): nothing to compile or install before a deploy.
name = "{{name}}"
entry = "index.mts"
runtime = "node"
memory = "128M"
timeout = "3s"
exclude = ["*.test.mts"]

[env]
GREETING = "Hello"

# Uncomment to run the function on a schedule or on a topic's messages:
# [triggers]
# topics = ["greetings"]
#
# [[triggers.schedules]]
# cron = "0 8 * * *"          # 08:00 UTC every day
# data = { name = "cron" }
)FLINT";

constexpr const char* kTsHandler =
    R"FLINT(// {{name}}: a Flint function in TypeScript, run by Node.js 22 as it is: Node.js strips the
// types, so only erasable syntax is allowed (no enum, namespace or constructor parameter
// properties; `import type` for types). One handler serves both shapes of input:
//  - an HTTP request (curl http://127.0.0.1:8080/fn/{{name}}?name=Ada) arrives as a Lambda
//    function-URL event: requestContext.http, rawPath, queryStringParameters, body (text);
//  - an event (flint invoke {{name}} --async -d '{"name":"Ada"}', a schedule, a topic) arrives
//    as the event's JSON itself.

// The parts of a function-URL event this function reads (the whole shape: sdk/js/flint.d.ts).
export interface HttpEvent {
  requestContext: { http: { method: string; path: string } };
  rawPath: string;
  queryStringParameters?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
}

export interface Input {
  name?: string;
}

export interface Greeting {
  message: string;
}

export const handler = async (event: HttpEvent | Input | null): Promise<Greeting> => {
  const input = readInput(event);
  const name = input.name ?? "world";
  const greeting = process.env.GREETING ?? "Hello";
  console.log(`greeting ${name}`);
  return { message: `${greeting}, ${name}!` };
};

function isHttpEvent(event: unknown): event is HttpEvent {
  return typeof event === "object" && event !== null && "requestContext" in event;
}

// The input of either shape as a plain object: an HTTP request's query parameters and JSON
// body, or the event itself.
export function readInput(event: HttpEvent | Input | null): Input {
  if (isHttpEvent(event)) {
    const input: Input = { ...(event.queryStringParameters ?? {}) };
    if (event.body) {
      const text = event.isBase64Encoded ? atob(event.body) : event.body;
      Object.assign(input, JSON.parse(text) as Input);
    }
    return input;
  }
  return event ?? {};
}
)FLINT";

constexpr const char* kTsTest =
    R"FLINT(// The handler's test, without Flint: node --test (Node.js 22.18 or later runs TypeScript).
import { test } from "node:test";
import assert from "node:assert/strict";
import { handler } from "./index.mts";

test("an HTTP request is greeted by the name in its query", async () => {
  const event = {
    rawPath: "/",
    requestContext: { http: { method: "GET", path: "/" } },
    queryStringParameters: { name: "Ada" },
  };
  assert.deepEqual(await handler(event), { message: "Hello, Ada!" });
});

test("an HTTP request is greeted by the name in its JSON body", async () => {
  const event = {
    rawPath: "/",
    requestContext: { http: { method: "POST", path: "/" } },
    body: JSON.stringify({ name: "Grace" }),
    isBase64Encoded: false,
  };
  assert.deepEqual(await handler(event), { message: "Hello, Grace!" });
});

test("an event is greeted by its name", async () => {
  assert.deepEqual(await handler({ name: "Bob" }), { message: "Hello, Bob!" });
});
)FLINT";

// ---- cpp --------------------------------------------------------------------------------------

constexpr const char* kCppProject =
    R"FLINT(# The function in this folder: `flint deploy` deploys it (flintd compiles it).
# Every key: docs/cli.md, "Project file".
name = "{{name}}"
entry = "index.cc"
memory = "128M"
timeout = "3s"
# flintd compiles every .cc file it receives: the test and its build stay here.
exclude = ["test", "build", "Makefile"]

# Uncomment to run the function on a schedule or on a topic's messages:
# [triggers]
# topics = ["greetings"]
#
# [[triggers.schedules]]
# cron = "0 8 * * *"          # 08:00 UTC every day
# data = { name = "cron" }
)FLINT";

constexpr const char* kCppHandler =
    R"FLINT(// {{name}}: a Flint C++ function (docs/handlers-cpp.md). One handler serves HTTP requests
// (curl http://127.0.0.1:8080/fn/{{name}}?name=Ada) and events (flint invoke {{name}} --async
// -d '{"name":"Ada"}', a schedule, a topic). The logic lives in greeting.h, which
// test/greeting_test.cc tests without Flint (make test).
#include <flint/flint.h>

#include "greeting.h"

flint::Response Handle(const flint::Request& req, flint::Context& ctx) {
  std::string name;
  if (req.is_event()) {
    name = NameFromJson(req.event_json());  // the event's JSON
  } else {
    name = req.query("name").value_or("");
    if (name.empty()) name = NameFromJson(req.body());  // a JSON body, if any
  }
  ctx.log().Info("greeting " + (name.empty() ? std::string("world") : name));
  return flint::Response::Json(GreetingJson(name));
}

FLINT_HANDLER(Handle)
)FLINT";

constexpr const char* kCppGreeting =
    R"FLINT(// The function's logic, plain C++ without Flint, so test/greeting_test.cc can test it.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

// The value of a "name" string in a JSON object, or "" (a small reader for this example; use a
// JSON library for real input).
inline std::string NameFromJson(std::string_view json) {
  size_t key = json.find("\"name\"");
  if (key == std::string_view::npos) return "";
  size_t colon = json.find(':', key + 6);
  if (colon == std::string_view::npos) return "";
  size_t open = json.find_first_not_of(" \t\r\n", colon + 1);
  if (open == std::string_view::npos || json[open] != '"') return "";
  std::string out;
  for (size_t i = open + 1; i < json.size(); ++i) {
    char c = json[i];
    if (c == '"') return out;
    if (c == '\\' && i + 1 < json.size()) c = json[++i];
    out += c;
  }
  return "";
}

// {"message":"Hello, NAME!"} ("world" when `name` is empty), escaped for JSON.
inline std::string GreetingJson(std::string_view name) {
  std::string out = "{\"message\":\"Hello, ";
  for (char c : name.empty() ? std::string_view("world") : name) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "!\"}";
}
)FLINT";

constexpr const char* kCppTest = R"FLINT(// The function's logic, tested without Flint: make test
#include <cstdio>
#include <string>

#include "greeting.h"

namespace {
int failures = 0;

void ExpectEq(const std::string& got, const std::string& want, int line) {
  if (got == want) return;
  std::printf("greeting_test.cc:%d: got %s, want %s\n", line, got.c_str(), want.c_str());
  ++failures;
}
}  // namespace

#define EXPECT_EQ(got, want) ExpectEq((got), (want), __LINE__)

int main() {
  EXPECT_EQ(NameFromJson(R"({"name": "Ada"})"), "Ada");
  EXPECT_EQ(NameFromJson(R"({"other": 1})"), "");
  EXPECT_EQ(NameFromJson(""), "");
  EXPECT_EQ(GreetingJson("Ada"), R"({"message":"Hello, Ada!"})");
  EXPECT_EQ(GreetingJson(""), R"({"message":"Hello, world!"})");
  EXPECT_EQ(GreetingJson("\"q\""), R"({"message":"Hello, \"q\"!"})");
  std::printf(failures == 0 ? "ok\n" : "%d failed\n", failures);
  return failures == 0 ? 0 : 1;
}
)FLINT";

constexpr const char* kCppMakefile =
    "# make test: builds and runs the test of greeting.h (flintd builds the function itself).\n"
    "CXX ?= g++\n"
    "\n"
    "test:\n"
    "\tmkdir -p build\n"
    "\t$(CXX) -std=c++20 -Wall -Wextra -iquote . test/greeting_test.cc -o build/greeting_test\n"
    "\t./build/greeting_test\n"
    "\n"
    ".PHONY: test\n";

// ---- hono -------------------------------------------------------------------------------------

constexpr const char* kHonoProject =
    R"FLINT(# The function in this folder: `flint deploy` deploys it as it is written here, node_modules/
# included: run `npm install` first. Every key: docs/cli.md, "Project file".
name = "{{name}}"
entry = "index.mjs"
memory = "128M"
timeout = "3s"
exclude = ["*.test.mjs"]

[env]
GREETING = "Hello"

# Uncomment to run the function on a schedule or on a topic's messages (each arrives as a POST
# of its JSON to /):
# [triggers]
# topics = ["greetings"]
#
# [[triggers.schedules]]
# cron = "0 8 * * *"          # 08:00 UTC every day
# data = { name = "cron" }
)FLINT";

constexpr const char* kHonoPackage = R"FLINT({
  "name": "{{name}}",
  "private": true,
  "type": "module",
  "scripts": {
    "test": "node --test"
  },
  "dependencies": {
    "hono": "^4.13.19"
  }
}
)FLINT";

constexpr const char* kHonoHandler =
    R"FLINT(// {{name}}: a Hono app, written as for Cloudflare Workers: `export default app` is a
// Web-standard fetch handler, called as app.fetch(request, env, ctx) (docs/handlers-js.md).
//  - an HTTP request's path is the part after /fn/{{name}}: curl
//    'http://127.0.0.1:8080/fn/{{name}}?name=Ada' is GET /?name=Ada, and
//    http://127.0.0.1:8080/fn/{{name}}/hello/Ada is GET /hello/Ada;
//  - an event (flint invoke {{name}} --async -d '{"name":"Ada"}', a schedule, a topic) is a
//    POST of the event's JSON to / with the header x-flint-event: 1; the JSON answered is the
//    event's result.
import { Hono } from "hono";

const app = new Hono();

// `env` is the function's environment (flint.toml's [env]); Hono gives it to routes as c.env.
function greet(c, name) {
  const greeting = c.env?.GREETING ?? "Hello";
  console.log(`greeting ${name ?? "world"}`);
  return c.json({ message: `${greeting}, ${name ?? "world"}!` });
}

// The request's JSON body, or undefined when it is not JSON.
async function jsonBody(c) {
  try {
    return await c.req.json();
  } catch {
    return undefined;
  }
}

app.get("/", (c) => greet(c, c.req.query("name")));

app.get("/hello/:name", (c) => greet(c, c.req.param("name")));

// A JSON body greeted by its name: HTTP requests and events alike.
app.post("/", async (c) => {
  const input = await jsonBody(c);
  if (input === undefined) return c.json({ error: "the body is not JSON" }, 400);
  return greet(c, input?.name);
});

app.post("/echo", async (c) => {
  const input = await jsonBody(c);
  if (input === undefined) return c.json({ error: "the body is not JSON" }, 400);
  return c.json({ echo: input });
});

app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));

// An HTTP caller gets a 500 and the error goes to the log (flint logs {{name}}). An event's error
// is thrown on: a 500 would count as the event's result, a throw fails the event, so Flint
// retries it and then keeps it as a dead letter (flint dlq {{name}}).
app.onError((err, c) => {
  if (c.req.header("x-flint-event")) throw err;
  console.error(err);
  return c.json({ error: "internal error" }, 500);
});

export default app;
)FLINT";

constexpr const char* kHonoTest =
    R"FLINT(// The app's test, without Flint: npm test (node --test), after npm install. app.request()
// sends a request through the app as Flint does; its third argument is the env.
import { test } from "node:test";
import assert from "node:assert/strict";
import app from "./index.mjs";

const env = { GREETING: "Hello" };

// A route that fails, to test the app's error handling (added before the first request).
app.get("/fail", async () => {
  throw new Error("failed on purpose");
});

function post(path, body, headers = {}) {
  const init = { method: "POST", body, headers: { "content-type": "application/json", ...headers } };
  return app.request(path, init, env);
}

test("GET / greets the name in its query", async () => {
  const res = await app.request("/?name=Ada", {}, env);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { message: "Hello, Ada!" });
});

test("GET /hello/:name greets the name in its path, with the env's greeting", async () => {
  const res = await app.request("/hello/Grace", {}, { GREETING: "Hi" });
  assert.deepEqual(await res.json(), { message: "Hi, Grace!" });
});

test("an event, a POST of its JSON to /, is greeted by its name", async () => {
  const res = await post("/", JSON.stringify({ name: "Bob" }), { "x-flint-event": "1" });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { message: "Hello, Bob!" });
});

test("POST /echo answers its JSON body, and 400 to a body that is not JSON", async () => {
  const res = await post("/echo", JSON.stringify({ n: 1, tags: ["a"] }));
  assert.deepEqual(await res.json(), { echo: { n: 1, tags: ["a"] } });
  assert.equal((await post("/echo", "not json")).status, 400);
});

test("an unknown path is a JSON 404", async () => {
  const res = await app.request("/nowhere", {}, env);
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), { error: "no route for GET /nowhere" });
});

test("an error is a logged 500 for HTTP, and fails an event", async (t) => {
  const logged = t.mock.method(console, "error", () => {});
  assert.equal((await app.request("/fail", {}, env)).status, 500);
  assert.equal(logged.mock.callCount(), 1);
  await assert.rejects(app.request("/fail", { headers: { "x-flint-event": "1" } }, env), {
    message: "failed on purpose",
  });
});
)FLINT";

constexpr const char* kGitignore = "build/\nnode_modules/\n.env\n";

std::string Substitute(std::string text, const std::string& name) {
  const std::string marker = "{{name}}";
  for (size_t pos; (pos = text.find(marker)) != std::string::npos;) text.replace(pos, 8, name);
  return text;
}

}  // namespace

const std::vector<Template>& Templates() {
  static const std::vector<Template> templates = {
      {"js",
       "JavaScript (ES module), tested with node --test",
       "",
       "node --test",
       {{"flint.toml", kJsProject},
        {"index.mjs", kJsHandler},
        {"index.test.mjs", kJsTest},
        {".gitignore", kGitignore}}},
      {"ts",
       "TypeScript on Node.js, which strips the types: nothing to compile; node --test",
       "",
       "node --test",
       {{"flint.toml", kTsProject},
        {"index.mts", kTsHandler},
        {"index.test.mts", kTsTest},
        {".gitignore", kGitignore}}},
      {"cpp",
       "C++ against <flint/flint.h>, built by flintd; logic tested with make test",
       "",
       "make test",
       {{"flint.toml", kCppProject},
        {"index.cc", kCppHandler},
        {"greeting.h", kCppGreeting},
        {"test/greeting_test.cc", kCppTest},
        {"Makefile", kCppMakefile},
        {".gitignore", kGitignore}}},
      {"hono",
       "a Hono app on Node.js as on Workers, export default app; npm install, npm test",
       "npm install",
       "npm test",
       {{"flint.toml", kHonoProject},
        {"package.json", kHonoPackage},
        {"index.mjs", kHonoHandler},
        {"index.test.mjs", kHonoTest},
        {".gitignore", kGitignore}}},
  };
  return templates;
}

Result<std::map<std::string, std::string>> RenderTemplate(const std::string& template_name,
                                                          const std::string& name) {
  for (const Template& t : Templates()) {
    if (template_name != t.name) continue;
    std::map<std::string, std::string> out;
    for (const auto& [path, text] : t.files) out[path] = Substitute(text, name);
    return out;
  }
  std::string names;
  for (const Template& t : Templates()) names += (names.empty() ? "" : ", ") + std::string(t.name);
  return InvalidArgument("unknown template '" + template_name + "': use one of " + names);
}

Result<std::vector<std::string>> WriteTemplate(const std::string& template_name,
                                               const std::string& name, const std::string& dir) {
  Result<std::map<std::string, std::string>> files = RenderTemplate(template_name, name);
  if (!files.ok()) return files.status();
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    return InvalidArgument(dir + " already exists and is not empty");
  }
  std::vector<std::string> written;
  for (const auto& [path, text] : *files) {
    fs::path target = fs::path(dir) / path;
    fs::create_directories(target.parent_path(), ec);
    if (ec)
      return InvalidArgument("cannot create " + target.parent_path().string() + ": " +
                             ec.message());
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      return InvalidArgument("cannot write " + target.string() + ": " + std::strerror(errno));
    }
    written.push_back(path);
  }
  return written;
}

}  // namespace flint::cli
