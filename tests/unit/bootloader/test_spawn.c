/*
 * bl_spawn, the daemon's side: the helper's answer is untrusted (it has
 * read the guest's disk), so fake helpers lie, hang, die, overflow and
 * leave processes behind; the real kxen-pygrub (next to build/tests/) runs
 * on a small disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "bootloader/bootloader.h"
#include "tests.h"

static char dir[] = "/tmp/kxen-bl-spawn.XXXXXX";

/* A fake helper named kxen-pygrub-fake: a shell script. */
static const char *fake(const char *body)
{
	static char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof path, "%s/kxen-pygrub-fake", dir);
	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0755), 0);
	return path;
}

static int run(const char *helper, const struct bl_options *opt, int timeout_ms,
	       struct bl_result *res, char *err, size_t errlen)
{
	int rc = bl_spawn(helper, "/dev/null", opt, timeout_ms, res, err, errlen);
	if (rc == 0)
		assert_non_null(res->kernel);
	return rc;
}

static void expect_err(const char *body, const struct bl_options *opt, const char *what)
{
	struct bl_result res;
	char err[600] = "";

	assert_int_not_equal(run(fake(body), opt, 5000, &res, err, sizeof err), 0);
	if (!strstr(err, what))
		fail_msg("error \"%s\" lacks \"%s\"", err, what);
	assert_null(res.kernel);
	assert_null(res.ramdisk);
}

static void test_answers(void **state)
{
	struct bl_result res;
	char err[600];

	/* A good answer: the files, the fields, control bytes made harmless. */
	int rc = run(fake("printf 'KERNEL' >&3; printf 'RD' >&4\n"
			  "printf 'kernel /boot/k\\nargs a\\001b root=x\\ntitle T\\npartition 2\\n'"),
		     NULL, 5000, &res, err, sizeof err);
	assert_int_equal(rc, 0);
	assert_int_equal(res.kernel_len, 6);
	assert_memory_equal(res.kernel, "KERNEL", 6);
	assert_int_equal(res.ramdisk_len, 2);
	assert_string_equal(res.cmdline, "a?b root=x");
	assert_string_equal(res.kernel_path, "/boot/k");
	assert_string_equal(res.title, "T");
	assert_int_equal(res.partition, 2);
	bl_result_free(&res);

	/* No ramdisk is fine. */
	rc = run(fake("printf K >&3; echo 'kernel /k'"), NULL, 5000, &res, err, sizeof err);
	assert_int_equal(rc, 0);
	assert_null(res.ramdisk);
	bl_result_free(&res);
}

static void test_lies_and_failures(void **state)
{
	struct bl_options small = { .max_ramdisk = 1000 };

	expect_err("printf K >&3; echo 'args x'", NULL, "named no kernel");
	expect_err("echo 'kernel /k'", NULL, "empty kernel");
	expect_err("printf K >&3; head -c 2000 /dev/zero >&4; echo 'kernel /k'", &small,
		   "ramdisk is too large");
	expect_err("echo 'kxen-pygrub-fake: the disk said no' >&2; exit 1", NULL,
		   "the disk said no");
	expect_err("kill -9 $$", NULL, "died (signal 9)");
	expect_err("exit 3", NULL, "failed (exit 3)");
	struct bl_result res;
	char err[256];
	assert_int_not_equal(bl_spawn("/nonexistent/kxen-pygrub", "/dev/null", NULL, 1000, &res,
				      err, sizeof err), 0);
	assert_non_null(strstr(err, "cannot run the bootloader"));
}

static bool alive(pid_t pid)
{
	char path[64], st[256];
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	bool live = fgets(st, sizeof st, f) && !strstr(st, ") Z ");
	fclose(f);
	return live;
}

static void test_timeout_and_leftovers(void **state)
{
	struct bl_result res;
	char err[256], pidfile[PATH_MAX], body[PATH_MAX + 128];
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(run(fake("sleep 30"), NULL, 500, &res, err, sizeof err), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec < 10);
	assert_non_null(strstr(err, "was stopped"));

	/* Something it started in the background is stopped with it. */
	snprintf(pidfile, sizeof pidfile, "%s/pid", dir);
	snprintf(body, sizeof body, "sleep 30 >/dev/null 2>&1 </dev/null 3>&- 4>&- & echo $! > %s\n"
		 "printf K >&3; echo 'kernel /k'", pidfile);
	assert_int_equal(run(fake(body), NULL, 5000, &res, err, sizeof err), 0);
	bl_result_free(&res);
	FILE *f = fopen(pidfile, "r");
	int pid = 0;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &pid), 1);
	fclose(f);
	for (int i = 0; i < 100 && alive(pid); i++)
		usleep(10000);
	assert_false(alive(pid));
}

/* build/tests/bootloader -> build/kxen-pygrub */
static bool real_helper(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n <= 0)
		return false;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return false;
	*slash = '\0';
	slash = strrchr(buf, '/');
	if (!slash || (size_t)(slash - buf) + sizeof "/kxen-pygrub" > len)
		return false;
	strcpy(slash, "/kxen-pygrub");
	return access(buf, X_OK) == 0;
}

static void test_real_helper(void **state)
{
	char helper[PATH_MAX], cmd[PATH_MAX * 2], err[600];
	struct bl_options opt = { .args = "extra=1" };
	struct bl_result res;

	if (!real_helper(helper, sizeof helper) || system("mke2fs -V >/dev/null 2>&1")) {
		fprintf(stderr, "no kxen-pygrub next to the tests, or no mke2fs: skipped\n");
		skip();
	}
	snprintf(cmd, sizeof cmd,
		 "cd %s && mkdir -p t/boot/grub && printf 'KERNELIMAGE' > t/boot/vmlinuz-1 && "
		 "printf 'RAMDISK' > t/boot/initrd.img-1 && "
		 "printf 'menuentry x {\\n linux /boot/vmlinuz-1 ro\\n initrd /boot/initrd.img-1\\n}\\n'"
		 " > t/boot/grub/grub.cfg && truncate -s 8M d.img && "
		 "mke2fs -q -F -t ext4 -d t d.img >/dev/null 2>&1", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "%s/d.img", dir);
	assert_int_equal(bl_spawn(helper, cmd, &opt, 10000, &res, err, sizeof err), 0);
	assert_int_equal(res.kernel_len, 11);
	assert_memory_equal(res.kernel, "KERNELIMAGE", 11);
	assert_int_equal(res.ramdisk_len, 7);
	assert_string_equal(res.cmdline, "ro extra=1");
	assert_int_equal(res.partition, 0);
	bl_result_free(&res);
	/* Its own error, without its name in front. */
	opt.entry = NULL;
	assert_int_not_equal(bl_spawn(helper, "/dev/null", &opt, 10000, &res, err, sizeof err), 0);
	assert_string_equal(err, "/dev/null: not a file or block device");
}

static void test_is_pygrub(void **state)
{
	assert_true(bl_is_pygrub("pygrub"));
	assert_true(bl_is_pygrub("/usr/lib/xen-4.17/bin/pygrub"));
	assert_false(bl_is_pygrub("/usr/bin/pygrub2"));
	assert_false(bl_is_pygrub("pygrub/"));
	assert_false(bl_is_pygrub(NULL));
}

const struct CMUnitTest spawn_tests[] = {
	cmocka_unit_test(test_answers),
	cmocka_unit_test(test_lies_and_failures),
	cmocka_unit_test(test_timeout_and_leftovers),
	cmocka_unit_test(test_real_helper),
	cmocka_unit_test(test_is_pygrub),
};
const size_t nr_spawn_tests = sizeof spawn_tests / sizeof spawn_tests[0];

int spawn_setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

int spawn_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}
