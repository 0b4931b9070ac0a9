/* Bootloader unit tests: grub.cfg, partition tables, file systems. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests.h"

int main(void)
{
	int failed = _cmocka_run_group_tests("bootloader-grubcfg", grubcfg_tests,
					     nr_grubcfg_tests, NULL, NULL);
	failed += _cmocka_run_group_tests("bootloader-disk", disk_tests, nr_disk_tests,
					  disk_setup, disk_teardown);
	failed += _cmocka_run_group_tests("bootloader-spawn", spawn_tests, nr_spawn_tests,
					  spawn_setup, spawn_teardown);
	return failed ? 1 : 0;
}
