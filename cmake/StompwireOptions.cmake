# Warnings for our own code (third-party headers come in as SYSTEM and stay quiet).
add_library(stompwire_warnings INTERFACE)
target_compile_options(stompwire_warnings INTERFACE -Wall -Wextra -Werror)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports false -Wrestrict positives inside libstdc++'s std::string (GCC bug 105329).
  target_compile_options(stompwire_warnings INTERFACE -Wno-restrict)
endif()

# The portable core never throws and never asks for RTTI, in every preset.
# Consequence: an interface declared in sdk/ that native/ or wasm/ derives from keeps all its virtual
# functions inline (no key function), so RTTI-enabled code can emit its typeinfo itself.
add_library(stompwire_portable INTERFACE)
target_compile_options(stompwire_portable INTERFACE -fno-exceptions -fno-rtti)

# Emscripten cannot use find_package(nlohmann_json), and pointing it at /usr/include drags host glibc
# headers in: expose only the nlohmann folder (TOOLCHAIN.md).
function(stompwire_find_nlohmann)
  if(TARGET nlohmann_json::nlohmann_json)
    return()
  endif()
  if(EMSCRIPTEN)
    find_path(NLOHMANN_HOST_INCLUDE nlohmann/json.hpp PATHS /usr/include
              NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH REQUIRED)
    file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/host-headers)
    if(NOT EXISTS ${CMAKE_BINARY_DIR}/host-headers/nlohmann)
      file(CREATE_LINK ${NLOHMANN_HOST_INCLUDE}/nlohmann ${CMAKE_BINARY_DIR}/host-headers/nlohmann SYMBOLIC)
    endif()
    add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED GLOBAL)
    target_include_directories(nlohmann_json::nlohmann_json SYSTEM INTERFACE ${CMAKE_BINARY_DIR}/host-headers)
  else()
    find_package(nlohmann_json 3.11 REQUIRED CONFIG GLOBAL)
  endif()
endfunction()
