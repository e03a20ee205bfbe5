// Function code uploaded as one archive: a tar file, gzip-compressed or not (told apart by the
// gzip magic bytes), as `flint deploy` sends it and `tar -czf` makes it.
//
// Tar: 512-byte headers (POSIX ustar or GNU), names from the header (with the ustar prefix), a
// pax extended header ('x': "path" and "size") or a GNU long name ('L'); sizes in octal or
// base-256. Regular files ('0', '\0', '7') are extracted; directory entries ('5') and global
// pax headers ('g') are skipped, and so are links in a .bin/ folder (npm's command shims in
// node_modules/.bin/); a leading "./" is dropped from every name. Anything else (other links,
// devices, FIFOs) is refused with an error naming the entry, as is a bad header checksum, a
// truncated archive or corrupt gzip data. Two zero blocks or the end of the data end the archive.
//
// The archive is read as a stream: only the compressed bytes and one file at a time are in
// memory, and each file goes straight to the CodeStaging area, whose limits (file count, total
// unpacked bytes) therefore bound decompression too: a header announcing more bytes than the
// limits allow fails before anything is inflated.
//
// Stateless functions; blocking disk I/O through the CodeStaging area.
#pragma once

#include <string_view>

#include "scheduler/store/code_staging.h"
#include "sdk/core/status.h"

namespace flint::scheduler {

// True when `bytes` start with the gzip magic bytes.
bool IsGzip(std::string_view bytes);

// Extracts every regular file of `archive` into `staging` (see above). Errors are
// InvalidArgument (a malformed archive, a refused entry) or the staging area's (limits: kind
// PayloadTooLarge; a bad path: InvalidArgument; disk: kIo).
Status ExtractArchive(std::string_view archive, CodeStaging& staging);

}  // namespace flint::scheduler
