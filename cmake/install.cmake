# cmake --install: where GNUInstallDirs says, for any prefix given at install
# time (cmake --install build --prefix P). Nothing installed names the
# source or build tree: the CMake files locate themselves, and clgraph.pc
# is written at install time with the prefix installed to.
include(CMakePackageConfigHelpers)

install(FILES include/clgraph.h ${CLGRAPH_GENERATED_INCLUDE}/clgraph_version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS clgraph clgraph_static EXPORT clgraphTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS clgraph_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES README.md CHANGELOG.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB CLGRAPH_DOCS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${CLGRAPH_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
# README.md's pictures and its example model, so its links resolve.
install(DIRECTORY docs/img DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
install(FILES examples/residual_mlp.clg DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

set(CLGRAPH_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/clgraph)
install(EXPORT clgraphTargets NAMESPACE clgraph:: DESTINATION ${CLGRAPH_CMAKE_DIR})
configure_package_config_file(cmake/clgraphConfig.cmake.in
  ${CMAKE_BINARY_DIR}/clgraphConfig.cmake INSTALL_DESTINATION ${CLGRAPH_CMAKE_DIR})
# SameMinorVersion while the major is 0 (a minor may break the ABI there),
# SameMajorVersion after: the rule the SONAME follows.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(CLGRAPH_COMPATIBILITY SameMinorVersion)
else()
  set(CLGRAPH_COMPATIBILITY SameMajorVersion)
endif()
write_basic_package_version_file(${CMAKE_BINARY_DIR}/clgraphConfigVersion.cmake
  COMPATIBILITY ${CLGRAPH_COMPATIBILITY})
install(FILES ${CMAKE_BINARY_DIR}/clgraphConfig.cmake ${CMAKE_BINARY_DIR}/clgraphConfigVersion.cmake
        DESTINATION ${CLGRAPH_CMAKE_DIR})

# clgraph.pc names absolute directories, so it is written when installing,
# from the prefix of that install (cmake --install's --prefix included).
foreach(kind LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${kind}}")
    set(CLGRAPH_PC_${kind} "${CMAKE_INSTALL_${kind}}")
  else()
    set(CLGRAPH_PC_${kind} "\${prefix}/${CMAKE_INSTALL_${kind}}")
  endif()
endforeach()
set(CLGRAPH_PC_STAGE ${CMAKE_BINARY_DIR}/install-stage/clgraph.pc)
install(CODE "
  set(CLGRAPH_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(CLGRAPH_PC_LIBDIR [[${CLGRAPH_PC_LIBDIR}]])
  set(CLGRAPH_PC_INCLUDEDIR [[${CLGRAPH_PC_INCLUDEDIR}]])
  set(PROJECT_VERSION ${PROJECT_VERSION})
  set(CLGRAPH_CXX_RUNTIME ${CLGRAPH_CXX_RUNTIME})
  configure_file([[${CMAKE_SOURCE_DIR}/cmake/clgraph.pc.in]] [[${CLGRAPH_PC_STAGE}]] @ONLY)
")
install(FILES ${CLGRAPH_PC_STAGE} DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
