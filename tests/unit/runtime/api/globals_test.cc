// Flint's JS globals, checked snippet by snippet: each Eval() returns the JSON of the value
// (a string as it is), or "<ErrorType>: <message>" when the snippet throws.
#include <catch2/catch.hpp>
#include <regex>

#include "tests/unit/runtime/api/test_function.h"

namespace flint::runtime {
namespace {

using testing::Evaluator;

// console.log's output for `args` (a JS argument list).
std::string Logged(Evaluator& js, const std::string& args) {
  size_t before = js.function().logs().size();
  js.Eval("console.log(" + args + ")");
  const auto& logs = js.function().logs();
  REQUIRE(logs.size() == before + 1);
  return logs.back().text;
}

TEST_CASE("console formats its arguments like util.format", "[console]") {
  Evaluator js;
  CHECK(Logged(js, "'a', 1, true, null, undefined") == "a 1 true null undefined");
  CHECK(Logged(js, "{ a: 1, b: 'x', c: [1, 2] }") == "{ a: 1, b: 'x', c: [ 1, 2 ] }");
  CHECK(Logged(js, "'%s is %d years', 'Ada', 36.5, 'extra'") == "Ada is 36.5 years extra");
  CHECK(Logged(js, "'%i%% done, %j', 42.9, { ok: true }") == "42% done, {\"ok\":true}");
  CHECK(Logged(js, "{ deep: { deeper: { deepest: { x: 1 } } } }") ==
        "{ deep: { deeper: { deepest: [Object] } } }");
  CHECK(Logged(js, "(() => { const o = { name: 'o' }; o.self = o; return o; })()") ==
        "{ name: 'o', self: [Circular] }");
  CHECK(Logged(js, "new Map([['k', 1]]), new Set([1]), [undefined, -0, 10n]") ==
        "Map(1) { 'k' => 1 } Set(1) { 1 } [ undefined, -0, 10n ]");
  CHECK(Logged(js, "function named() {}, class K {}, Symbol('s')") ==
        "[Function: named] [class K] Symbol(s)");
  CHECK(Logged(js, "Object.create(null), new (class Point { constructor() { this.x = 1; } })()") ==
        "[Object: null prototype] {} Point { x: 1 }");
  std::string error = Logged(js, "new TypeError('bad')");
  CHECK(error.rfind("TypeError: bad\n    at ", 0) == 0);
}

TEST_CASE("console levels map to LOG levels and long lines are cut", "[console]") {
  Evaluator js;
  js.Eval("console.debug('d'); console.info('i'); console.warn('w'); console.error('e')");
  const auto& logs = js.function().logs();
  REQUIRE(logs.size() >= 4);
  CHECK(logs[logs.size() - 4].level == protocol::LogLevel::kDebug);
  CHECK(logs[logs.size() - 3].level == protocol::LogLevel::kInfo);
  CHECK(logs[logs.size() - 2].level == protocol::LogLevel::kWarn);
  CHECK(logs[logs.size() - 1].level == protocol::LogLevel::kError);
  std::string long_line = Logged(js, "'é'.repeat(100000)");
  CHECK(long_line.size() < 70 * 1024);
  CHECK(long_line.find("more bytes truncated]") != std::string::npos);
}

TEST_CASE("TextEncoder and TextDecoder convert UTF-8", "[encoding]") {
  Evaluator js;
  CHECK(js.Eval("Array.from(new TextEncoder().encode('hé€😀'))") ==
        "[104,195,169,226,130,172,240,159,152,128]");
  CHECK(js.Eval("Array.from(new TextEncoder().encode('\\ud800'))") == "[239,191,189]");
  CHECK(js.Eval("new TextDecoder().decode(new Uint8Array([104, 195, 169, 240, 159, 152, 128]))") ==
        "hé😀");
  CHECK(js.Eval("new TextDecoder().decode(new Uint8Array([0xEF, 0xBB, 0xBF, 0x41]))") == "A");
  CHECK(js.Eval("new TextDecoder().decode(new Uint8Array([0x61, 0xFF, 0x62]))") ==
        "a\xEF\xBF\xBD"
        "b");
  CHECK(js.Eval("new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xFF]))") ==
        "TypeError: TextDecoder.decode: the encoded data is not valid utf-8");
  CHECK(js.Eval("(() => { const d = new TextDecoder(); const b = new TextEncoder().encode('€');\n"
                "  return d.decode(b.subarray(0, 1), { stream: true }) + d.decode(b.subarray(1)); "
                "})()") == "€");
  CHECK(js.Eval("(() => { const u = new Uint8Array(4);\n"
                "  return [new TextEncoder().encodeInto('aé€', u), Array.from(u)]; })()") ==
        "[{\"read\":2,\"written\":3},[97,195,169,0]]");
  CHECK(js.Eval("new TextDecoder('latin1')").rfind("RangeError:", 0) == 0);
}

TEST_CASE("atob and btoa follow the forgiving base64 rules", "[encoding]") {
  Evaluator js;
  CHECK(js.Eval("btoa('hello')") == "aGVsbG8=");
  CHECK(js.Eval("atob('aGVsbG8=')") == "hello");
  CHECK(js.Eval("atob(' aGVs bG8 ')") == "hello");
  CHECK(js.Eval("atob('aGVsbG8')") == "hello");
  CHECK(js.Eval("Array.from(atob('/wA='), (c) => c.charCodeAt(0))") == "[255,0]");
  CHECK(js.Eval("(() => { try { atob('a'); } catch (e) { return [e.name, e instanceof "
                "DOMException, e.code]; } })()") == "[\"InvalidCharacterError\",true,5]");
  CHECK(js.Eval("(() => { try { btoa('€'); } catch (e) { return e.name; } })()") ==
        "InvalidCharacterError");
  CHECK(js.Eval("(() => { try { atob('ab$c'); } catch (e) { return e.name; } })()") ==
        "InvalidCharacterError");
}

TEST_CASE("structuredClone deep-copies values and refuses functions", "[clone]") {
  Evaluator js;
  CHECK(js.Eval("(() => { const a = { d: new Date(0), m: new Map([[1, { x: 1 }]]), u: new "
                "Uint8Array([1, 2]) };\n"
                "  a.self = a; const b = structuredClone(a);\n"
                "  return [b !== a, b.self === b, b.d.getTime(), b.m.get(1).x, Array.from(b.u),\n"
                "          b.m.get(1) !== a.m.get(1)]; })()") == "[true,true,0,1,[1,2],true]");
  CHECK(js.Eval("(() => { try { structuredClone({ f() {} }); } catch (e) { return [e.name, e "
                "instanceof DOMException]; } })()") == "[\"DataCloneError\",true]");
}

TEST_CASE("crypto.randomUUID and getRandomValues use the kernel's randomness", "[crypto]") {
  Evaluator js;
  std::string uuid = js.Eval("crypto.randomUUID()");
  CHECK(std::regex_match(
      uuid, std::regex("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")));
  CHECK(js.Eval("crypto.randomUUID() !== crypto.randomUUID()") == "true");
  CHECK(js.Eval("crypto.getRandomValues(new Uint32Array(64)).some((x) => x !== 0)") == "true");
  CHECK(js.Eval("(() => { try { crypto.getRandomValues(new Float64Array(2)); } catch (e) { return "
                "e.name; } })()") == "TypeMismatchError");
  CHECK(js.Eval("(() => { try { crypto.getRandomValues(new Uint8Array(65537)); } catch (e) { "
                "return e.name; } })()") == "QuotaExceededError");
}

TEST_CASE("URL parses absolute http(s) URLs and resolves relative ones", "[url]") {
  Evaluator js;
  CHECK(
      js.Eval("(() => { const u = new "
              "URL('HTTPS://User:pw@Example.COM:443/a/./b/../c?x=1&y=%20#frag');\n"
              "  return [u.href, u.protocol, u.username, u.password, u.host, u.hostname, u.port,\n"
              "          u.pathname, u.search, u.hash, u.origin]; })()") ==
      "[\"https://User:pw@example.com/a/c?x=1&y=%20#frag\",\"https:\",\"User\",\"pw\","
      "\"example.com\",\"example.com\",\"\",\"/a/c\",\"?x=1&y=%20\",\"#frag\","
      "\"https://example.com\"]");
  CHECK(js.Eval("new URL('http://h:8080').href") == "http://h:8080/");
  CHECK(js.Eval("new URL('../x?q', 'http://h/a/b/c').href") == "http://h/a/x?q");
  CHECK(js.Eval("new URL('/root', 'https://h/a/b').href") == "https://h/root");
  CHECK(js.Eval("new URL('//other/p', 'https://h/a').href") == "https://other/p");
  CHECK(js.Eval("new URL('?n=1', 'https://h/a/b?old').href") == "https://h/a/b?n=1");
  CHECK(js.Eval("new URL('http://h/a b/ü').pathname") == "/a%20b/%C3%BC");
  CHECK(js.Eval("new URL('mailto:ada@example.com').pathname") == "ada@example.com");
  CHECK(js.Eval("(() => { try { new URL('/relative'); } catch (e) { return e.name; } })()") ==
        "TypeError");
  CHECK(js.Eval("URL.canParse('http://ok') && !URL.canParse('http://bad host')") == "true");
  CHECK(js.Eval("JSON.stringify({ u: new URL('http://h/p') })") == "{\"u\":\"http://h/p\"}");
}

TEST_CASE("URLSearchParams reads and edits query strings, linked to its URL", "[url]") {
  Evaluator js;
  CHECK(js.Eval("(() => { const p = new URLSearchParams('?a=1&b=x+y&a=2&c=%E2%82%AC');\n"
                "  return [p.get('a'), p.getAll('a'), p.get('b'), p.get('c'), p.has('z'), "
                "p.get('z'), p.size]; })()") == "[\"1\",[\"1\",\"2\"],\"x y\",\"€\",false,null,4]");
  CHECK(js.Eval("(() => { const p = new URLSearchParams({ q: 'a b', n: 1 }); p.append('q', '&');\n"
                "  p.set('n', 2); p.delete('missing'); return p.toString(); })()") ==
        "q=a+b&n=2&q=%26");
  CHECK(js.Eval("[...new URLSearchParams([['b', '2'], ['a', '1']])].flat()") ==
        "[\"b\",\"2\",\"a\",\"1\"]");
  CHECK(js.Eval("(() => { const p = new URLSearchParams('b=2&a=1&b=1'); p.sort(); return "
                "p.toString(); })()") == "a=1&b=2&b=1");
  CHECK(
      js.Eval("(() => { const u = new URL('https://h/p?x=1'); u.searchParams.append('y', 'z w');\n"
              "  u.searchParams.delete('x'); const a = u.href; u.search = '?k=v';\n"
              "  return [a, u.searchParams.get('k')]; })()") == "[\"https://h/p?y=z+w\",\"v\"]");
}

TEST_CASE("Timers run in order of due time, then of creation; cleared ones never run", "[timers]") {
  Evaluator js;
  CHECK(js.Eval("new Promise((resolve) => {\n"
                "  const order = [];\n"
                "  setTimeout(() => order.push('t50'), 50);\n"
                "  setTimeout(() => order.push('t1a'), 1);\n"
                "  setTimeout((x) => order.push(x), 1, 't1b');\n"
                "  const dead = setTimeout(() => order.push('cleared'), 2);\n"
                "  clearTimeout(dead);\n"
                "  queueMicrotask(() => order.push('micro'));\n"
                "  Promise.resolve().then(() => order.push('promise'));\n"
                "  let n = 0;\n"
                "  const iv = setInterval(() => { order.push('iv' + ++n); if (n === 2) "
                "clearInterval(iv); }, 1);\n"
                "  setTimeout(() => resolve(order), 100);\n"
                "})") == "[\"micro\",\"promise\",\"t1a\",\"t1b\",\"iv1\",\"iv2\",\"t50\"]");
  CHECK(js.Eval("typeof setTimeout(() => {}, 1)") == "number");
  CHECK(js.Eval("(() => { try { setTimeout('code', 1); } catch (e) { return e.name; } })()") ==
        "TypeError");
}

TEST_CASE("performance, process and the absence of Node built-ins", "[globals]") {
  Evaluator js;
  CHECK(js.Eval("(() => { const a = performance.now(); const b = performance.now(); return b >= a "
                "&& a >= 0; })()") == "true");
  CHECK(js.Eval("process.env.FLINT_TEST") == "yes");
  CHECK(js.Eval("process.platform") == "linux");
  CHECK(js.Eval("[typeof require, typeof Buffer, typeof fetch]") ==
        "[\"undefined\",\"undefined\",\"undefined\"]");
  CHECK(js.Eval("new Promise((r) => process.nextTick(r, 'ticked'))") == "ticked");
  CHECK(js.Eval("new DOMException('m', 'AbortError').code") == "20");
}

}  // namespace
}  // namespace flint::runtime
