/* Bootloader unit tests: the groups main.c runs. */
#ifndef BL_TESTS_H
#define BL_TESTS_H

#include <stddef.h>

struct CMUnitTest;
extern const struct CMUnitTest grubcfg_tests[];
extern const size_t nr_grubcfg_tests;
extern const struct CMUnitTest disk_tests[];
extern const size_t nr_disk_tests;
int disk_setup(void **state);
int disk_teardown(void **state);
extern const struct CMUnitTest spawn_tests[];
extern const size_t nr_spawn_tests;
int spawn_setup(void **state);
int spawn_teardown(void **state);

#endif
