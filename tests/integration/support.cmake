# flint_test_support: the integration-test harness (tests/support/flintd_fixture.*, and
# ledger_ids.* for tests that read the ledger), built once
# for every integration folder: include() this file, then link flint_test_support.
# Needs the targets flintd and flint; flint-worker and flint-build are built too when they exist.
if(NOT TARGET flint_test_support AND TARGET flintd AND TARGET flint)
  add_library(flint_test_support STATIC ${PROJECT_SOURCE_DIR}/tests/support/flintd_fixture.cc
    ${PROJECT_SOURCE_DIR}/tests/support/ledger_ids.cc)
  target_link_libraries(flint_test_support PUBLIC flint_client flint_core PRIVATE SQLite::SQLite3)
  target_compile_definitions(flint_test_support PRIVATE
    FLINT_FLINTD_PATH="$<TARGET_FILE:flintd>"
    FLINT_CLI_PATH="$<TARGET_FILE:flint>"
    FLINT_FUNCTIONS_DIR="${PROJECT_SOURCE_DIR}/functions")
  add_dependencies(flint_test_support flintd flint)
  if(TARGET flint-worker)
    add_dependencies(flint_test_support flint-worker)
  endif()
  if(TARGET flint-build)
    add_dependencies(flint_test_support flint-build)
  endif()
endif()
