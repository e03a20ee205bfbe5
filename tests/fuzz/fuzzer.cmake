# The fuzz harnesses of tests/fuzz/: one folder per harness, holding its source (fuzzer.cc),
# its seed corpus (corpus/) and, where useful, a libFuzzer dictionary (dict).
#
# flint_fuzzer(NAME
#              LIBS <module libraries, in the ordinary build>
#              FUZZ_LIBS <libraries of the fuzz build, below>)
#
# Ordinary builds (tools/build.sh, also with FLINT_SANITIZE): fuzz_NAME_replay runs the harness
# over every file of the folder's corpus/ as the ctest test "fuzz corpus NAME", so each seed
# and every input that once found a bug stays a regression test. The fuzz build (FLINT_FUZZ=ON,
# clang; tools/fuzz.sh) makes fuzz_NAME, a libFuzzer binary instrumented with ASan and UBSan.
include_guard(GLOBAL)

if(FLINT_FUZZ)
  # The code under test, compiled once for every fuzzer: only the few sources each parser
  # needs, not their modules' whole libraries (whose JSON- and logging-heavy files would make
  # this instrumented build several times longer). A link error here means a parser gained a
  # dependency: add its source.
  set(src ${PROJECT_SOURCE_DIR})
  add_library(flint_fuzz_http STATIC ${src}/scheduler/server/http_parser.cc)
  target_link_libraries(flint_fuzz_http PUBLIC flint_core llhttp)
  add_library(flint_fuzz_cron STATIC ${src}/scheduler/events/cron.cc)
  target_link_libraries(flint_fuzz_cron PUBLIC flint_core)
  add_library(flint_fuzz_api STATIC ${src}/scheduler/app/api_requests.cc
              ${src}/scheduler/store/function_version.cc ${src}/scheduler/store/files.cc
              ${src}/sdk/encoding/base64.cc)
  target_link_libraries(flint_fuzz_api PUBLIC flint_core
                        PRIVATE nlohmann_json::nlohmann_json OpenSSL::Crypto)
  add_library(flint_fuzz_code_store STATIC ${src}/scheduler/store/code_store.cc
              ${src}/scheduler/store/sha256.cc)
  target_link_libraries(flint_fuzz_code_store PUBLIC flint_fuzz_api PRIVATE OpenSSL::Crypto)
endif()

function(flint_fuzzer name)
  cmake_parse_arguments(ARG "" "" "LIBS;FUZZ_LIBS" ${ARGN})
  set(harness ${CMAKE_CURRENT_SOURCE_DIR}/fuzzer.cc)
  if(FLINT_FUZZ)
    add_executable(fuzz_${name} ${harness})
    target_link_libraries(fuzz_${name} PRIVATE ${ARG_FUZZ_LIBS})
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    add_dependencies(flint_fuzzers fuzz_${name})
  else()
    add_executable(fuzz_${name}_replay ${harness} ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cc)
    target_link_libraries(fuzz_${name}_replay PRIVATE ${ARG_LIBS})
    add_test(NAME "fuzz corpus ${name}"
             COMMAND fuzz_${name}_replay ${CMAKE_CURRENT_SOURCE_DIR}/corpus)
    set_tests_properties("fuzz corpus ${name}" PROPERTIES TIMEOUT 120)
  endif()
endfunction()
