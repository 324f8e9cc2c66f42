# The hosted port: POSIX (Linux) with pthreads and mmap.
set(K23_PORT_SOURCES "${CMAKE_CURRENT_LIST_DIR}/port.c")
find_package(Threads REQUIRED)
set(K23_PORT_LIBS Threads::Threads)
set(K23_PORT_PC_LIBS "-lpthread")
set(K23_PORT_HOSTED ON)
