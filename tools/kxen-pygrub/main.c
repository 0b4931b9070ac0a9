/*
 * kxen-pygrub: pygrub for kxen, without Python.  Picks the kernel, initrd
 * and command line a PV guest's own disk says to boot (see
 * src/bootloader/bootloader.h for how) and hands them over.
 *
 *   kxen-pygrub [-q] [-n] [-l] [-e ENTRY] [-a ARGS]
 *               [--kernel-fd=N --ramdisk-fd=N | -k FILE -r FILE] DISK
 *
 *   -l, --list-entries   print the menu (GRUB index path, title, kernel)
 *   -n, --not-really     print the choice, copy nothing
 *   -e, --entry=ENTRY    boot this entry (index path "1>2", title or id)
 *                        instead of grub.cfg's default
 *   -a, --args=ARGS      appended to the entry's command line (xl.cfg's
 *                        root=/extra=/cmdline=, as libxl passes them)
 *   --kernel-fd/--ramdisk-fd, -k/--kernel-out, -r/--ramdisk-out
 *                        where the kernel and the (concatenated) initrds go
 *   --max-ramdisk=BYTES  refuse initrds larger than that in all (the
 *                        guest's memory; default 1 GiB)
 *   -q, --quiet          accepted for pygrub's sake (there is no menu UI)
 *
 * On success prints "key value" lines: kernel, ramdisk (if any), args,
 * title, partition, config; exits 0.  On failure prints one line to
 * stderr and exits 1.  The disk is opened read only; as root, the program
 * then becomes nobody, with no new privileges and bounded memory, CPU time
 * and output before it reads a byte of it: the disk is the guest's.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>

#include "bootloader/bootloader.h"

#define NOBODY 65534

static const char *prog = "kxen-pygrub";

static int fail(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: %s [-q] [-n] [-l] [-e ENTRY] [-a ARGS] "
		"[--kernel-fd=N --ramdisk-fd=N | -k FILE -r FILE] DISK\n", prog);
}

static int disk_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) ? -errno : 0;
	return -EINVAL;
}

/* ASan reserves terabytes of address space: no memory limit under it. */
#if defined(__SANITIZE_ADDRESS__)
#define LIMIT_MEMORY 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LIMIT_MEMORY 0
#endif
#endif
#ifndef LIMIT_MEMORY
#define LIMIT_MEMORY 1
#endif

static void set_limit(int res, rlim_t v)
{
	struct rlimit rl = { v, v };

	setrlimit(res, &rl);
}

/* Everything needed is open: give up what is not. */
static int drop_privileges(void)
{
	if (LIMIT_MEMORY)
		set_limit(RLIMIT_AS, 1ull << 30);
	set_limit(RLIMIT_CPU, 15);
	set_limit(RLIMIT_FSIZE, BL_MAX_RAMDISK + BL_MAX_KERNEL);
	set_limit(RLIMIT_CORE, 0);
	set_limit(RLIMIT_NOFILE, 32);
	if (geteuid() == 0) {
		if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
			return -errno;
	}
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ? -errno : 0;
}

static int print_menu(int fd, uint64_t size)
{
	struct bl_menu menu;
	struct bl_choice where;
	char err[600];
	const struct bl_entry *def;

	if (bl_list(fd, size, &menu, &where, err, sizeof err))
		return fail("%s%s", err, "");
	def = bl_menu_pick(&menu, NULL);
	printf("config %s on %s%u\n", where.config, where.partition ? "partition " : "disk ",
	       where.partition);
	if (menu.warning[0])
		printf("warning %s\n", menu.warning);
	for (size_t i = 0; i < menu.nr_entries; i++) {
		const struct bl_entry *e = &menu.entries[i];
		printf("%s %-6s %s\n", e == def ? "*" : " ", e->path, e->item.title);
		printf("         kernel: %s\n", e->kernel[0] ? e->kernel : "(none)");
		for (unsigned j = 0; j < e->nr_initrds; j++)
			printf("         initrd: %s\n", e->initrd[j]);
		printf("         args: %s\n", e->args);
	}
	bl_menu_free(&menu);
	return 0;
}

static int open_out(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "not-really", no_argument, NULL, 'n' },
		{ "list-entries", no_argument, NULL, 'l' },
		{ "entry", required_argument, NULL, 'e' },
		{ "args", required_argument, NULL, 'a' },
		{ "kernel-fd", required_argument, NULL, 'K' },
		{ "ramdisk-fd", required_argument, NULL, 'R' },
		{ "kernel-out", required_argument, NULL, 'k' },
		{ "ramdisk-out", required_argument, NULL, 'r' },
		{ "max-ramdisk", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bl_options opt = { 0 };
	struct bl_choice c;
	struct bl_fs *fs;
	bool list = false, dry = false;
	int kfd = -1, rfd = -1, ch, fd;
	uint64_t size, max_ramdisk = BL_MAX_RAMDISK, ramdisk_total = 0;
	char err[1024];

	while ((ch = getopt_long(argc, argv, "qnle:a:k:r:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'q': break;
		case 'n': dry = true; break;
		case 'l': list = true; break;
		case 'e': opt.entry = optarg; break;
		case 'a': opt.args = optarg; break;
		case 'K': kfd = atoi(optarg); break;
		case 'R': rfd = atoi(optarg); break;
		case 'M':
			max_ramdisk = strtoull(optarg, NULL, 10);
			if (!max_ramdisk || max_ramdisk > BL_MAX_RAMDISK)
				max_ramdisk = BL_MAX_RAMDISK;
			break;
		case 'k':
			if ((kfd = open_out(optarg)) < 0)
				return fail("%s: %s", optarg, strerror(errno));
			break;
		case 'r':
			if ((rfd = open_out(optarg)) < 0)
				return fail("%s: %s", optarg, strerror(errno));
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	if (!list && !dry && kfd < 0)
		return fail("%s%s", "say where the kernel goes (--kernel-fd or -k), or use -n", "");
	fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("cannot open the disk %s: %s", argv[optind], strerror(errno));
	int rc = disk_size(fd, &size);
	if (rc)
		return fail("%s: %s", argv[optind], rc == -EINVAL ? "not a file or block device"
			    : strerror(-rc));
	rc = drop_privileges();
	if (rc)
		return fail("cannot drop privileges: %s%s", strerror(-rc), "");
	if (list)
		return print_menu(fd, size);
	if (bl_choose(fd, size, &opt, &c, &fs, err, sizeof err))
		return fail("%s%s", err, "");
	if (!dry) {
		uint64_t n;
		if (bl_fs_copy_file(fs, c.kernel, BL_MAX_KERNEL, kfd, &n, err, sizeof err))
			return fail("%s%s", err, "");
		for (unsigned i = 0; i < c.nr_initrds; i++) {
			if (rfd < 0)
				return fail("the entry has an initrd: say where it goes "
					    "(--ramdisk-fd or -r)%s%s", "", "");
			if (bl_fs_copy_file(fs, c.initrd[i], max_ramdisk - ramdisk_total, rfd, &n, err,
					    sizeof err))
				return fail("%s%s", err, "");
			ramdisk_total += n;
		}
	}
	bl_fs_close(fs);
	printf("kernel %s\n", c.kernel);
	for (unsigned i = 0; i < c.nr_initrds; i++)
		printf("ramdisk %s\n", c.initrd[i]);
	printf("args %s\n", c.cmdline);
	printf("title %s\n", c.title);
	printf("partition %u\n", c.partition);
	printf("config %s\n", c.config[0] ? c.config : "(none)");
	return fflush(stdout) ? 1 : 0;
}
