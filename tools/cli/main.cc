// flint: the command-line client of flintd (docs/cli.md). Everything lives in commands.cc.
#include "tools/cli/commands.h"

int main(int argc, char** argv) { return flint::cli::Main(argc, argv); }
