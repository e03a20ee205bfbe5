/* Flint's C ABI between flint-worker and a C++ function's shared object.
 *
 * A function is a shared object exporting, with C linkage:
 *
 *   uint32_t flint_abi_version(void);               required, checked first
 *   int flint_handle(const flint_request*, const flint_context*, const flint_response_writer*);
 *                                                    required
 *   int flint_init(const flint_context*, const flint_response_writer*);
 *                                                    optional, run once per worker after load
 *
 * The worker calls flint_abi_version() before anything else and refuses the function unless it
 * returns FLINT_ABI_VERSION ("function built for Flint C ABI version N, this worker supports
 * M"). Only plain C types cross this boundary -- no C++ class, no exception, no allocation that
 * the other side frees -- so a function built with other compiler flags or another C++ standard
 * library still loads. Functions normally never include this header directly: flint/flint.h
 * implements these symbols through FLINT_HANDLER and FLINT_INIT.
 *
 * Rules of the ABI (version 1):
 *  - Every string is a flint_str: bytes and a length, not NUL-terminated, owned by the caller of
 *    the function that receives it and valid only during that call.
 *  - flint_handle and flint_init return 0 on success. On failure they call writer->fail first
 *    (an error type such as "std::runtime_error" and a message) and return non-zero. They never
 *    let an exception escape.
 *  - The response is reported through the writer's callbacks, in any order, during the call.
 *    A later set_status/set_body replaces an earlier one; add_header appends.
 *  - All calls happen on one thread (the worker's loop thread), one invocation at a time.
 *  - A new ABI version is introduced for any change to these structs or signatures; fields are
 *    never reordered, and struct_size lets a reader detect a larger struct.
 */
#ifndef FLINT_ABI_H_
#define FLINT_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FLINT_ABI_VERSION 1u

typedef struct flint_str {
  const char* data;
  size_t size;
} flint_str;

typedef struct flint_header {
  flint_str name; /* lower-case */
  flint_str value;
} flint_header;

/* What an invocation carries. */
typedef enum flint_kind {
  FLINT_KIND_HTTP = 0,  /* an HTTP request to /fn/NAME[/path] */
  FLINT_KIND_EVENT = 1, /* an async event: body holds the event's JSON */
} flint_kind;

typedef struct flint_request {
  uint32_t struct_size; /* sizeof(flint_request) of the writer */
  uint32_t kind;        /* a flint_kind */
  flint_str method;     /* "GET", ... */
  flint_str path;       /* the path after /fn/NAME, always starting with "/" */
  flint_str query;      /* the raw query string, without "?" */
  flint_str source_ip;
  const flint_header* headers; /* in arrival order */
  size_t header_count;
  flint_str body; /* raw bytes */
} flint_request;

typedef enum flint_log_level {
  FLINT_LOG_DEBUG = 0,
  FLINT_LOG_INFO = 1,
  FLINT_LOG_WARN = 2,
  FLINT_LOG_ERROR = 3,
} flint_log_level;

typedef struct flint_context {
  uint32_t struct_size; /* sizeof(flint_context) of the writer */
  uint32_t function_version;
  flint_str request_id; /* empty during flint_init */
  flint_str function_name;
  uint32_t memory_limit_mb;
  uint32_t timeout_ms;        /* the function's configured timeout */
  uint64_t deadline_epoch_ms; /* wall-clock deadline (ms since the epoch); 0 during flint_init */
  void* host;                 /* opaque, passed back to the callbacks below */
  /* Appends one log line to the invocation's logs (or the load's, during flint_init). */
  void (*log)(void* host, uint32_t level, const char* text, size_t size);
  /* Milliseconds left before the deadline (0 when it passed). */
  uint64_t (*remaining_ms)(void* host);
} flint_context;

typedef struct flint_response_writer {
  uint32_t struct_size; /* sizeof(flint_response_writer) of the writer */
  void* host;
  void (*set_status)(void* host, uint32_t status);
  void (*add_header)(void* host, const char* name, size_t name_size, const char* value,
                     size_t value_size);
  void (*set_body)(void* host, const char* data, size_t size);
  /* Reports a failure: an error type ("std::out_of_range") and a message. */
  void (*fail)(void* host, const char* type, size_t type_size, const char* message,
               size_t message_size);
} flint_response_writer;

typedef uint32_t (*flint_abi_version_fn)(void);
typedef int (*flint_handle_fn)(const flint_request*, const flint_context*,
                               const flint_response_writer*);
typedef int (*flint_init_fn)(const flint_context*, const flint_response_writer*);

#ifdef __cplusplus
}
#endif

#endif /* FLINT_ABI_H_ */
