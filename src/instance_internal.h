/*
 * Helpers shared by src/instance.c and src/instance_pool.c. Not installed.
 */
#ifndef K23MEM_INSTANCE_INTERNAL_H
#define K23MEM_INSTANCE_INTERNAL_H

#include "internal.h"
#include "k23mem/instance.h"

/* The host page size (cached k23_port_caps().page_size). */
size_t k23_instance_host_page_(void);

#endif /* K23MEM_INSTANCE_INTERNAL_H */
