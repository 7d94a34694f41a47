# `cmake --install` layout: headers under include/, static libraries under lib/, and a relocatable
# package in lib/cmake/stompwire so that consumers write find_package(stompwire CONFIG) and link
# stompwire::native (which brings stompwire::sdk, Boost headers, OpenSSL and Threads along).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(STOMPWIRE_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/stompwire)

# The warning and no-exceptions helper targets appear in the static libraries' link interface as
# $<LINK_ONLY:...> (no compile options reach consumers), so they travel in the export set too.
set(_stompwire_install_targets stompwire_sdk stompwire_warnings stompwire_portable)
foreach(extra stompwire_native)
  if(TARGET ${extra})
    list(APPEND _stompwire_install_targets ${extra})
  endif()
endforeach()

install(TARGETS ${_stompwire_install_targets}
  EXPORT stompwireTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/sdk/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET stompwire_native)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/native/transport/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endif()

install(EXPORT stompwireTargets NAMESPACE stompwire:: DESTINATION ${STOMPWIRE_INSTALL_CMAKEDIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/stompwireConfig.cmake.in
  ${PROJECT_BINARY_DIR}/stompwireConfig.cmake
  INSTALL_DESTINATION ${STOMPWIRE_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/stompwireConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/stompwireConfig.cmake ${PROJECT_BINARY_DIR}/stompwireConfigVersion.cmake
  DESTINATION ${STOMPWIRE_INSTALL_CMAKEDIR})
