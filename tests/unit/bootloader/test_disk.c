/*
 * Partition tables and whole disks: small images made here (MBR and GPT
 * written by hand, ext2/3/4 by mke2fs -d from a temporary tree), then
 * corrupted every way we can think of.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "bootloader/bootloader.h"
#include "tests.h"

#define MIB (1024ull * 1024)

static char tmpdir[] = "/tmp/kxen-bl-test.XXXXXX";
static bool have_mkfs;

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* A fake kernel: recognisable bytes, big enough to span many blocks. */
static uint8_t *kernel_bytes(const char *tag, size_t len)
{
	uint8_t *k = malloc(len);
	assert_non_null(k);
	for (size_t i = 0; i < len; i++)
		k[i] = (uint8_t)(i * 7 + tag[i % strlen(tag)]);
	return k;
}

/* tree/ with /boot/vmlinuz-<v>, initrds, and optionally a grub.cfg. */
static void make_tree(const char *tree, const char *grubcfg, const char *const *versions,
		      size_t n)
{
	char path[512];

	sh("rm -rf '%s' && mkdir -p '%s/boot/grub'", tree, tree);
	for (size_t i = 0; i < n; i++) {
		uint8_t *k = kernel_bytes(versions[i], 300000);
		snprintf(path, sizeof path, "%s/boot/vmlinuz-%s", tree, versions[i]);
		write_file(path, k, 300000);
		free(k);
		snprintf(path, sizeof path, "%s/boot/initrd.img-%s", tree, versions[i]);
		char txt[128];
		int l = snprintf(txt, sizeof txt, "initrd of %s\n", versions[i]);
		write_file(path, txt, (size_t)l);
	}
	if (grubcfg) {
		snprintf(path, sizeof path, "%s/boot/grub/grub.cfg", tree);
		write_file(path, grubcfg, strlen(grubcfg));
	}
}

/* mke2fs -t TYPE -d tree at byte offset off of img, fs_kib long. */
static void make_fs(const char *img, const char *type, const char *tree, uint64_t off,
		    uint64_t fs_kib)
{
	sh("mke2fs -q -F -t %s -E offset=%llu -d '%s' '%s' %lluk >/dev/null 2>&1", type,
	   (unsigned long long)off, tree, img, (unsigned long long)fs_kib);
}

static void new_disk(const char *img, uint64_t size)
{
	int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static void pwrite_at(const char *img, const void *buf, size_t len, uint64_t off)
{
	int fd = open(img, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* MBR entries: {active, type, start sector, sectors}. */
struct mbr_ent { uint8_t active, type; uint32_t start, count; };

static void write_mbr(const char *img, const struct mbr_ent *e, int n)
{
	uint8_t s[512] = { 0 };

	for (int i = 0; i < n; i++) {
		uint8_t *p = s + 446 + 16 * i;
		p[0] = e[i].active;
		p[4] = e[i].type;
		put32(p + 8, e[i].start);
		put32(p + 12, e[i].count);
	}
	s[510] = 0x55;
	s[511] = 0xaa;
	pwrite_at(img, s, sizeof s, 0);
}

/* A protective MBR, a GPT header at LBA 1, entries at LBA 2. */
static void write_gpt(const char *img, const uint64_t (*range)[2], int n, bool break_crc)
{
	struct mbr_ent pm = { 0, 0xee, 1, 0xffffffff };
	uint8_t hdr[512] = { 0 }, ents[128 * 128] = { 0 };

	write_mbr(img, &pm, 1);
	for (int i = 0; i < n; i++) {
		uint8_t *e = ents + 128 * i;
		memset(e, 0xa5, 16);   /* any non-zero type GUID */
		e[16] = (uint8_t)i + 1;
		put64(e + 32, range[i][0]);
		put64(e + 40, range[i][1]);
	}
	memcpy(hdr, "EFI PART", 8);
	put32(hdr + 8, 0x00010000);
	put32(hdr + 12, 92);
	put64(hdr + 24, 1);
	put64(hdr + 72, 2);
	put32(hdr + 80, 128);
	put32(hdr + 84, 128);
	put32(hdr + 88, (uint32_t)crc32(0, ents, sizeof ents));
	put32(hdr + 16, (uint32_t)crc32(0, hdr, 92) ^ (break_crc ? 1 : 0));
	pwrite_at(img, hdr, sizeof hdr, 512);
	pwrite_at(img, ents, sizeof ents, 1024);
}

static int open_disk(const char *img, uint64_t *size)
{
	struct stat st;
	int fd = open(img, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*size = (uint64_t)st.st_size;
	return fd;
}

static int choose(const char *img, const struct bl_options *opt, struct bl_choice *c,
		  char *err, size_t errlen)
{
	uint64_t size;
	struct bl_fs *fs;
	int fd = open_disk(img, &size);
	int rc = bl_choose(fd, size, opt, c, &fs, err, errlen);

	if (!rc)
		bl_fs_close(fs);
	close(fd);
	return rc;
}

static char *tpath(const char *name)
{
	static char buf[4][512];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s/%s", tmpdir, name);
	return buf[i];
}

#define SKIP_WITHOUT_MKFS() do { if (!have_mkfs) { skip(); } } while (0)

static const char two_entries[] =
	"set default=1\n"
	"menuentry 'old' {\n linux /boot/vmlinuz-6.1.0-9-amd64 root=/dev/xvda1 ro\n"
	" initrd /boot/initrd.img-6.1.0-9-amd64\n}\n"
	"menuentry 'new' {\n linux /boot/vmlinuz-6.1.0-10-amd64 root=/dev/xvda1 ro quiet\n"
	" initrd /boot/initrd.img-6.1.0-10-amd64\n}\n";
static const char *const both_versions[] = { "6.1.0-9-amd64", "6.1.0-10-amd64" };

/* ---- partition tables alone ---------------------------------------------------- */

static void test_mbr_order(void **state)
{
	const char *img = tpath("mbr.img");
	struct mbr_ent e[4] = {
		{ 0, 0x83, 2048, 2048 }, { 0x80, 0x83, 4096, 100000 },  /* clipped */
		{ 0, 0x05, 8192, 100 },                                 /* extended */
		{ 0, 0x83, 1u << 30, 10 },                              /* off the disk */
	};
	struct bl_part p[8];
	enum bl_table t;
	size_t n;
	uint64_t size;
	char err[256];

	new_disk(img, 8 * MIB);
	write_mbr(img, e, 4);
	int fd = open_disk(img, &size);
	assert_int_equal(bl_disk_partitions(fd, size, &t, p, 8, &n, err, sizeof err), 0);
	assert_int_equal(t, BL_TABLE_MBR);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].number, 2);          /* the active one first */
	assert_int_equal(p[0].offset, 4096 * 512);
	assert_int_equal(p[0].length, 8 * MIB - 4096 * 512);
	assert_int_equal(p[1].number, 1);
	assert_int_equal(p[1].length, 2048 * 512);
	/* Only room for one: the active one. */
	assert_int_equal(bl_disk_partitions(fd, size, &t, p, 1, &n, err, sizeof err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].number, 2);
	close(fd);

	/* Signature but no usable entry (boot code): the whole disk. */
	write_mbr(img, e + 2, 2);
	fd = open_disk(img, &size);
	assert_int_equal(bl_disk_partitions(fd, size, &t, p, 8, &n, err, sizeof err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].number, 0);
	assert_int_equal(p[0].length, size);
	close(fd);

	/* Too small to hold anything. */
	new_disk(img, 1000);
	fd = open_disk(img, &size);
	assert_int_equal(bl_disk_partitions(fd, size, &t, p, 8, &n, err, sizeof err), -EINVAL);
	close(fd);
}

static void test_gpt(void **state)
{
	const char *img = tpath("gpt.img");
	const uint64_t r[3][2] = { { 2048, 4095 }, { 4096, 1ull << 40 }, { 9000, 8000 } };
	struct bl_part p[8];
	enum bl_table t;
	size_t n;
	uint64_t size;
	char err[256];

	new_disk(img, 8 * MIB);
	write_gpt(img, r, 3, false);
	int fd = open_disk(img, &size);
	assert_int_equal(bl_disk_partitions(fd, size, &t, p, 8, &n, err, sizeof err), 0);
	assert_int_equal(t, BL_TABLE_GPT);
	assert_int_equal(n, 2);                    /* last < first is dropped */
	assert_int_equal(p[0].offset, 2048 * 512);
	assert_int_equal(p[0].length, 2048 * 512);
	assert_int_equal(p[1].length, size - 4096 * 512);
	close(fd);

	write_gpt(img, r, 3, true);
	fd = open_disk(img, &size);
	assert_int_equal(bl_disk_partitions(fd, size, &t, p, 8, &n, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "checksum"));
	close(fd);

	/* Protective MBR with no GPT behind it. */
	new_disk(img, 8 * MIB);
	struct bl_part q[1];
	struct mbr_ent pm = { 0, 0xee, 1, 100 };
	write_mbr(img, &pm, 1);
	fd = open_disk(img, &size);
	assert_int_equal(bl_disk_partitions(fd, size, &t, q, 1, &n, err, sizeof err), -EINVAL);
	close(fd);
}

/* ---- whole choices on real file systems ----------------------------------------- */

static void test_partitioned_ext4(void **state)
{
	SKIP_WITHOUT_MKFS();
	const char *img = tpath("part.img"), *tree = tpath("tree");
	struct mbr_ent e = { 0x80, 0x83, 2048, 30 * 2048 };
	struct bl_options opt = { .args = "console=hvc0" };
	struct bl_choice c;
	char err[600];

	make_tree(tree, two_entries, both_versions, 2);
	new_disk(img, 32 * MIB);
	write_mbr(img, &e, 1);
	make_fs(img, "ext4", tree, MIB, 30 * 1024);
	assert_int_equal(choose(img, &opt, &c, err, sizeof err), 0);
	assert_int_equal(c.partition, 1);
	assert_string_equal(c.config, "/boot/grub/grub.cfg");
	assert_string_equal(c.title, "new");
	assert_string_equal(c.kernel, "/boot/vmlinuz-6.1.0-10-amd64");
	assert_int_equal(c.nr_initrds, 1);
	assert_string_equal(c.cmdline, "root=/dev/xvda1 ro quiet console=hvc0");

	/* The kernel read back is the file, byte for byte. */
	uint64_t size;
	struct bl_fs *fs;
	uint8_t *buf;
	size_t len;
	int fd = open_disk(img, &size);
	assert_int_equal(bl_choose(fd, size, &opt, &c, &fs, err, sizeof err), 0);
	assert_int_equal(bl_fs_read_file(fs, c.kernel, BL_MAX_KERNEL, &buf, &len, err,
					 sizeof err), 0);
	uint8_t *want = kernel_bytes("6.1.0-10-amd64", 300000);
	assert_int_equal(len, 300000);
	assert_memory_equal(buf, want, len);
	free(want);
	free(buf);
	/* A limit below the size is refused. */
	assert_int_equal(bl_fs_read_file(fs, c.kernel, 1000, &buf, &len, err, sizeof err),
			 -EFBIG);
	bl_fs_close(fs);
	close(fd);

	opt.entry = "old";
	assert_int_equal(choose(img, &opt, &c, err, sizeof err), 0);
	assert_string_equal(c.kernel, "/boot/vmlinuz-6.1.0-9-amd64");
	assert_string_equal(c.cmdline, "root=/dev/xvda1 ro console=hvc0");
	opt.entry = "0";
	opt.args = NULL;
	assert_int_equal(choose(img, &opt, &c, err, sizeof err), 0);
	assert_string_equal(c.title, "old");
	assert_string_equal(c.cmdline, "root=/dev/xvda1 ro");
}

static void test_whole_disk_and_types(void **state)
{
	SKIP_WITHOUT_MKFS();
	static const char *const types[] = { "ext2", "ext3", "ext4" };
	const char *img = tpath("whole.img"), *tree = tpath("tree");
	struct bl_choice c;
	char err[600];

	make_tree(tree, two_entries, both_versions, 2);
	for (size_t i = 0; i < 3; i++) {
		new_disk(img, 16 * MIB);
		make_fs(img, types[i], tree, 0, 16 * 1024);
		assert_int_equal(choose(img, NULL, &c, err, sizeof err), 0);
		assert_int_equal(c.partition, 0);
		assert_string_equal(c.title, "new");
		assert_string_equal(c.cmdline, "root=/dev/xvda1 ro quiet");
	}
}

static void test_gpt_second_partition(void **state)
{
	SKIP_WITHOUT_MKFS();
	const char *img = tpath("gpt2.img"), *tree = tpath("tree");
	const uint64_t r[2][2] = { { 2048, 4095 }, { 4096, 4096 + 24 * 2048 - 1 } };
	struct bl_choice c;
	char err[600];

	make_tree(tree, two_entries, both_versions, 2);
	new_disk(img, 32 * MIB);
	make_fs(img, "ext4", tree, 4096 * 512, 24 * 1024);
	write_gpt(img, r, 2, false);        /* partition 1 holds no file system */
	assert_int_equal(choose(img, NULL, &c, err, sizeof err), 0);
	assert_int_equal(c.partition, 2);
	assert_string_equal(c.title, "new");
}

static void test_no_grub_cfg(void **state)
{
	SKIP_WITHOUT_MKFS();
	const char *img = tpath("nocfg.img"), *tree = tpath("tree");
	static const char *const versions[] = { "6.1.0-9-amd64", "6.1.0-10-amd64", "5.10.0-1-amd64" };
	struct bl_options opt = { .args = "root=/dev/xvda ro" };
	struct bl_choice c;
	char err[600];

	make_tree(tree, NULL, versions, 3);
	new_disk(img, 16 * MIB);
	make_fs(img, "ext4", tree, 0, 16 * 1024);
	assert_int_equal(choose(img, &opt, &c, err, sizeof err), 0);
	assert_string_equal(c.config, "");
	/* Version order, not name order: 10 is newer than 9. */
	assert_string_equal(c.kernel, "/boot/vmlinuz-6.1.0-10-amd64");
	assert_int_equal(c.nr_initrds, 1);
	assert_string_equal(c.initrd[0], "/boot/initrd.img-6.1.0-10-amd64");
	assert_string_equal(c.cmdline, "root=/dev/xvda ro");

	/* No configuration and no kernel: a clear error. */
	make_tree(tree, NULL, NULL, 0);
	new_disk(img, 16 * MIB);
	make_fs(img, "ext4", tree, 0, 16 * 1024);
	assert_int_equal(choose(img, &opt, &c, err, sizeof err), -ENOENT);
	assert_non_null(strstr(err, "no GRUB configuration"));
	assert_non_null(strstr(err, "no kernel in /boot"));
}

static void test_missing_kernel_file(void **state)
{
	SKIP_WITHOUT_MKFS();
	const char *img = tpath("nokernel.img"), *tree = tpath("tree");
	struct bl_choice c;
	char err[600];

	make_tree(tree, "menuentry x {\n linux /boot/vmlinuz-gone ro\n}\n", NULL, 0);
	new_disk(img, 16 * MIB);
	make_fs(img, "ext4", tree, 0, 16 * 1024);
	assert_int_equal(choose(img, NULL, &c, err, sizeof err), -ENOENT);
	assert_non_null(strstr(err, "/boot/vmlinuz-gone: no such file"));

	/* Not a file system at all. */
	new_disk(img, 16 * MIB);
	assert_int_equal(choose(img, NULL, &c, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "no ext2/3/4 file system"));
}

/* The partition table says the file system is smaller than it claims to
 * be: reads stop at the partition's end, so the kernel cannot be read. */
static void test_reads_stay_in_partition(void **state)
{
	SKIP_WITHOUT_MKFS();
	const char *img = tpath("short.img"), *tree = tpath("tree");
	struct mbr_ent e = { 0x80, 0x83, 2048, 1024 };   /* 512 KiB */
	uint64_t size;
	struct bl_choice c;
	struct bl_fs *fs;
	uint8_t *buf;
	size_t len;
	char err[600];

	make_tree(tree, two_entries, both_versions, 2);
	new_disk(img, 32 * MIB);
	make_fs(img, "ext4", tree, MIB, 30 * 1024);
	write_mbr(img, &e, 1);
	int fd = open_disk(img, &size);
	int rc = bl_choose(fd, size, NULL, &c, &fs, err, sizeof err);
	if (rc == 0) {
		rc = bl_fs_read_file(fs, c.kernel, BL_MAX_KERNEL, &buf, &len, err, sizeof err);
		if (rc == 0)
			free(buf);
		bl_fs_close(fs);
	}
	assert_int_not_equal(rc, 0);
	close(fd);
}

/* Flip bytes all over the metadata of a good image: every outcome is an
 * answer or an error, and what is read stays within its limits. */
static void test_corrupted_images(void **state)
{
	SKIP_WITHOUT_MKFS();
	const char *img = tpath("good.img"), *bad = tpath("bad.img"), *tree = tpath("tree");
	struct mbr_ent e = { 0x80, 0x83, 2048, 6 * 2048 };
	uint8_t *good;
	size_t good_len = 7 * MIB;
	unsigned seed = 4242;
	int ok = 0, failed = 0;

	make_tree(tree, two_entries, both_versions, 2);
	new_disk(img, good_len);
	write_mbr(img, &e, 1);
	make_fs(img, "ext4", tree, MIB, 6 * 1024);
	good = malloc(good_len);
	assert_non_null(good);
	int fd = open(img, O_RDONLY);
	assert_int_equal(pread(fd, good, good_len, 0), (ssize_t)good_len);
	close(fd);

	for (int round = 0; round < 150; round++) {
		uint8_t *b = malloc(good_len);
		size_t len = good_len;
		assert_non_null(b);
		memcpy(b, good, good_len);
		seed = seed * 1103515245u + 12345u;
		int flips = 1 + (int)((seed >> 16) % 64);
		for (int i = 0; i < flips; i++) {
			seed = seed * 1103515245u + 12345u;
			/* Mostly the partition table, superblock, group descriptors,
			 * inode tables and the first directories. */
			size_t span = (seed & 3) ? 512 * 1024 : good_len - MIB;
			size_t at = ((seed >> 8) % span) + ((seed & 3) ? MIB : MIB);
			if ((seed & 15) == 0)
				at = (seed >> 8) % 512;
			seed = seed * 1103515245u + 12345u;
			b[at % good_len] = (uint8_t)(seed >> 16);
		}
		if (round % 10 == 9)
			len = MIB + ((seed >> 4) % (2 * MIB));    /* a truncated image */
		if (round % 25 == 24)
			memset(b + MIB + 1024, 0xff, 1024);        /* all-ones superblock */
		write_file(bad, b, len);
		free(b);

		uint64_t size;
		struct bl_choice c;
		struct bl_fs *fs;
		char err[600];
		fd = open_disk(bad, &size);
		if (bl_choose(fd, size, NULL, &c, &fs, err, sizeof err) == 0) {
			uint8_t *buf;
			size_t blen;
			if (bl_fs_read_file(fs, c.kernel, BL_MAX_KERNEL, &buf, &blen, err,
					    sizeof err) == 0) {
				assert_true(blen <= BL_MAX_KERNEL);
				free(buf);
			}
			bl_fs_close(fs);
			ok++;
		} else {
			assert_true(err[0] != '\0');
			failed++;
		}
		close(fd);
	}
	free(good);
	/* Both outcomes happen: the flips reach what matters. */
	assert_true(ok > 0);
	assert_true(failed > 0);
}

const struct CMUnitTest disk_tests[] = {
	cmocka_unit_test(test_mbr_order),
	cmocka_unit_test(test_gpt),
	cmocka_unit_test(test_partitioned_ext4),
	cmocka_unit_test(test_whole_disk_and_types),
	cmocka_unit_test(test_gpt_second_partition),
	cmocka_unit_test(test_no_grub_cfg),
	cmocka_unit_test(test_missing_kernel_file),
	cmocka_unit_test(test_reads_stay_in_partition),
	cmocka_unit_test(test_corrupted_images),
};
const size_t nr_disk_tests = sizeof disk_tests / sizeof disk_tests[0];

int disk_setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	have_mkfs = system("mke2fs -V >/dev/null 2>&1") == 0;
	if (!have_mkfs)
		fprintf(stderr, "mke2fs not found: file system tests are skipped\n");
	return 0;
}

int disk_teardown(void **state)
{
	char cmd[600];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}
