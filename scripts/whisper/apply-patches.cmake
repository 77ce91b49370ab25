# Applies callscore's patches (this folder's *.patch, in name order) to
# whisper.cpp's sources before they are compiled. whisper-rs-sys copies its
# whisper.cpp tree into its build folder and configures it with CMake, passing
# every CMAKE_* variable of its environment as a definition; .cargo/config.toml
# sets CMAKE_PROJECT_INCLUDE to this file, so CMake runs it after each
# project() call. Only whisper.cpp's own project is patched, once; a patch
# already applied is left alone, one that no longer applies stops the build.
if(NOT PROJECT_NAME STREQUAL "whisper.cpp")
  return()
endif()
include_guard(GLOBAL)

find_program(CALLSCORE_PATCH_PROGRAM patch)
if(NOT CALLSCORE_PATCH_PROGRAM)
  message(FATAL_ERROR "callscore: the `patch` program is needed to build whisper.cpp (apt-get install patch)")
endif()

file(GLOB callscore_patches "${CMAKE_CURRENT_LIST_DIR}/*.patch")
list(SORT callscore_patches)
foreach(patch_file IN LISTS callscore_patches)
  execute_process(
    COMMAND "${CALLSCORE_PATCH_PROGRAM}" -p1 -R --dry-run --silent -i "${patch_file}"
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
    RESULT_VARIABLE already_applied OUTPUT_QUIET ERROR_QUIET)
  if(already_applied EQUAL 0)
    continue()
  endif()
  execute_process(
    COMMAND "${CALLSCORE_PATCH_PROGRAM}" -p1 --forward --silent -i "${patch_file}"
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
    RESULT_VARIABLE patch_result OUTPUT_VARIABLE patch_output ERROR_VARIABLE patch_output)
  if(NOT patch_result EQUAL 0)
    message(FATAL_ERROR "callscore: ${patch_file} does not apply to ${PROJECT_SOURCE_DIR} "
      "(was whisper-rs-sys upgraded?): ${patch_output}")
  endif()
  message(STATUS "callscore: applied ${patch_file}")
endforeach()
