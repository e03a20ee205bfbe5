// The build sandbox's contract: how flintd starts flint-build for a C++ build, and the view the
// compiler has inside it. One definition for both sides (flintd composes the compiler's
// arguments with these paths; flint-build mounts what they name).
//
//   flint-build --sources DIR --output DIR --sdk DIR --max-file-bytes N -- PROGRAM ARGS...
//
// --sources: the function's sources on the host, shown read-only at kBuildSourceDir, which is
//            the compiler's working directory (so messages name the function's own files).
// --output:  an empty host folder, shown writable at kBuildOutputDir, where the compiler
//            writes what it builds (flint-build makes the sandbox's user its owner).
// --sdk:     the host folder holding flint/flint.h; its flint/ is shown read-only below
//            kBuildSdkDir (so -I kBuildSdkDir finds <flint/flint.h>).
// --max-file-bytes: the largest file the compiler may write (RLIMIT_FSIZE), and the size of
//            the private /tmp where it keeps its intermediate files.
// PROGRAM:   an absolute path valid inside the sandbox (the host's /usr, /lib* and /bin are
//            mirrored read-only), run as an unprivileged user with ARGS.
//
// flint-build exits with the program's exit code, dies of the signal that ended it, or exits
// with kBuildSetupFailed (the reason on stderr) when the sandbox could not be set up.
#pragma once

namespace flint::protocol {

inline constexpr const char* kBuildExecutable = "flint-build";  // beside flint-worker

inline constexpr const char* kBuildSourceDir = "/src";
inline constexpr const char* kBuildOutputDir = "/out";
inline constexpr const char* kBuildSdkDir = "/flint/include";

inline constexpr int kBuildSetupFailed = 125;

}  // namespace flint::protocol
