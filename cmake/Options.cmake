# Every build knob of mmsim lives here, so presets and users see one list.
option(MMSIM_BUILD_TESTS   "Build the CMocka unit tests and register them with ctest" ON)
option(MMSIM_BUILD_BENCH   "Build the benchmark programs in bench/" ON)
option(MMSIM_BUILD_FUZZ    "Build libFuzzer targets (clang only); otherwise corpus replayers" OFF)
option(MMSIM_WERROR        "Treat compiler warnings as errors" ON)
option(MMSIM_DEBUG_AIDS    "Poison freed frames, quarantine, uninitialised-frame pattern" ON)
option(MMSIM_COVERAGE      "Instrument for gcov coverage (gcc)" OFF)
set(MMSIM_SANITIZERS "" CACHE STRING "Comma-separated -fsanitize= list, e.g. address,undefined")
option(MMSIM_LTO           "Link-time optimisation across the library (release/benchmarks)" OFF)
set(MMSIM_QEMU_XCHECK "AUTO" CACHE STRING "Cross-check the walker against qemu-system-aarch64: ON, OFF or AUTO")

# Flags travel on an INTERFACE target rather than CMAKE_C_FLAGS so that
# consumers of the installed library never inherit our warning policy.
add_library(mmsim_options INTERFACE)
target_compile_features(mmsim_options INTERFACE c_std_11)
target_compile_definitions(mmsim_options INTERFACE _GNU_SOURCE)
target_compile_options(mmsim_options INTERFACE
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
  -Wformat=2 -Wundef -Wpointer-arith -Wno-unused-parameter)
if(MMSIM_WERROR)
  target_compile_options(mmsim_options INTERFACE -Werror)
endif()
if(MMSIM_DEBUG_AIDS)
  target_compile_definitions(mmsim_options INTERFACE MMSIM_DEBUG_AIDS=1)
endif()
if(MMSIM_SANITIZERS)
  target_compile_options(mmsim_options INTERFACE -fsanitize=${MMSIM_SANITIZERS} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(mmsim_options INTERFACE -fsanitize=${MMSIM_SANITIZERS})
endif()
# The fault path crosses layers on every step (PA to host, table walk, page
# records); without LTO none of those small calls inline. Fat objects keep
# the installed static library linkable by consumers built without LTO.
if(MMSIM_LTO)
  include(CheckIPOSupported)
  check_ipo_supported(RESULT _ipo_ok OUTPUT _ipo_msg LANGUAGES C)
  if(NOT _ipo_ok)
    message(FATAL_ERROR "MMSIM_LTO=ON but the compiler cannot do LTO: ${_ipo_msg}")
  endif()
  set(CMAKE_INTERPROCEDURAL_OPTIMIZATION ON)
  if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-ffat-lto-objects)
  endif()
endif()
if(MMSIM_COVERAGE)
  target_compile_options(mmsim_options INTERFACE --coverage -O0)
  target_link_options(mmsim_options INTERFACE --coverage)
endif()

# Fuzzing instruments the whole library (coverage for libFuzzer, plus ASan and
# UBSan unless other sanitizers were chosen), so mmsim_options carries it.
if(MMSIM_BUILD_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "MMSIM_BUILD_FUZZ=ON needs clang (libFuzzer); configure with CC=clang")
  endif()
  set(_fuzz_san "fuzzer-no-link")
  if(NOT MMSIM_SANITIZERS)
    set(_fuzz_san "${_fuzz_san},address,undefined")
    target_compile_options(mmsim_options INTERFACE -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(mmsim_options INTERFACE -fsanitize=address,undefined)
  endif()
  target_compile_options(mmsim_options INTERFACE -fsanitize=${_fuzz_san})
endif()
