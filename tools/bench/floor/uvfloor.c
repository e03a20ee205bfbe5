/* The floor for tools/bench/vs-node.sh: the least an HTTP server on libuv can do per request.
 * Answers every request on a keep-alive connection with a fixed 200 "Hello, world!\n"; it only
 * counts blank lines ("\r\n\r\n") to find where requests end, so it serves bodiless requests
 * (GET) only. Usage: uvfloor PORT (127.0.0.1). Build: cc -O2 uvfloor.c -luv */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static const char kReply[] =
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 14\r\n\r\n"
    "Hello, world!\n";

typedef struct {
  uv_tcp_t tcp;
  char buf[65536];
  int matched; /* bytes of "\r\n\r\n" matched so far, across reads */
} conn_t;

typedef struct {
  uv_write_t req;
} write_req_t;

static void on_close(uv_handle_t* h) { free(h); }

static void on_write(uv_write_t* req, int status) {
  (void)status;
  free(req);
}

static void on_alloc(uv_handle_t* h, size_t size, uv_buf_t* buf) {
  (void)size;
  conn_t* c = (conn_t*)h;
  *buf = uv_buf_init(c->buf, sizeof c->buf);
}

static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  conn_t* c = (conn_t*)s;
  if (n < 0) {
    uv_close((uv_handle_t*)s, on_close);
    return;
  }
  int requests = 0;
  for (ssize_t i = 0; i < n; ++i) {
    char want = (c->matched % 2 == 0) ? '\r' : '\n';
    if (buf->base[i] == want) {
      if (++c->matched == 4) {
        ++requests;
        c->matched = 0;
      }
    } else {
      c->matched = buf->base[i] == '\r' ? 1 : 0;
    }
  }
  if (requests == 0) return;
  uv_buf_t out[64];
  int k = requests < 64 ? requests : 64;
  for (int i = 0; i < k; ++i) out[i] = uv_buf_init((char*)kReply, sizeof kReply - 1);
  int written = uv_try_write(s, out, (unsigned)k);
  if (written == UV_EAGAIN) written = 0;
  if (written < 0) {
    uv_close((uv_handle_t*)s, on_close);
    return;
  }
  size_t total = (size_t)k * (sizeof kReply - 1);
  if ((size_t)written < total) { /* the kernel's buffer is full: libuv sends the rest */
    write_req_t* w = malloc(sizeof *w + total - (size_t)written);
    char* rest = (char*)(w + 1);
    for (size_t i = (size_t)written; i < total; ++i)
      rest[i - (size_t)written] = kReply[i % (sizeof kReply - 1)];
    uv_buf_t b = uv_buf_init(rest, (unsigned)(total - (size_t)written));
    if (uv_write(&w->req, s, &b, 1, on_write) != 0) free(w);
  }
}

static void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  conn_t* c = calloc(1, sizeof *c);
  uv_tcp_init(server->loop, &c->tcp);
  if (uv_accept(server, (uv_stream_t*)&c->tcp) != 0) {
    uv_close((uv_handle_t*)&c->tcp, on_close);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start((uv_stream_t*)&c->tcp, on_alloc, on_read);
}

int main(int argc, char** argv) {
  uv_tcp_t server;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", argc > 1 ? atoi(argv[1]) : 8083, &addr);
  uv_tcp_init(uv_default_loop(), &server);
  if (uv_tcp_bind(&server, (const struct sockaddr*)&addr, 0) != 0) return 1;
  if (uv_listen((uv_stream_t*)&server, 1024, on_connection) != 0) return 1;
  return uv_run(uv_default_loop(), UV_RUN_DEFAULT);
}
