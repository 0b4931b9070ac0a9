/* Builder unit tests: image loading and PV layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests.h"

int main(void)
{
	int failed = _cmocka_run_group_tests("builder-loader", loader_tests, nr_loader_tests,
	                                     NULL, NULL);
	failed += _cmocka_run_group_tests("builder-layout", layout_tests, nr_layout_tests,
	                                  NULL, NULL);
	return failed ? 1 : 0;
}
