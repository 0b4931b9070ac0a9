/* The builder test groups (cmocka), run from main.c. */
#ifndef KXEN_TEST_BUILDER_TESTS_H
#define KXEN_TEST_BUILDER_TESTS_H

#include <stddef.h>

struct CMUnitTest;
extern const struct CMUnitTest loader_tests[];
extern const size_t nr_loader_tests;
extern const struct CMUnitTest layout_tests[];
extern const size_t nr_layout_tests;

#endif
