# Install headers, the static libraries, a CMake package and mmsim.pc, so
# another project can find_package(mmsim) or use pkg-config.
include(CMakePackageConfigHelpers)

install(TARGETS mmsim mmsim_platform EXPORT mmsimTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/mmsim DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT mmsimTargets NAMESPACE mmsim:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mmsim)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/mmsimConfig.cmake.in
  ${PROJECT_BINARY_DIR}/mmsimConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mmsim)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/mmsimConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/mmsimConfig.cmake ${PROJECT_BINARY_DIR}/mmsimConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mmsim)

configure_file(${PROJECT_SOURCE_DIR}/cmake/mmsim.pc.in ${PROJECT_BINARY_DIR}/mmsim.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/mmsim.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(TARGETS mmsim_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
