// A shared object that is not a Flint function (no FLINT_HANDLER).
extern "C" __attribute__((visibility("default"))) int something_else(void) { return 1; }
