/*
 * pygrub's decision: which partition, which configuration, which entry,
 * and the command line.  Partitions are tried in bl_disk_partitions'
 * order; the first file system with a GRUB 2 configuration (looked for
 * where pygrub looks) wins, else the first with a kernel in /boot.
 */
#include "bootloader/bootloader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootloader/bl-private.h"

static const char *const config_paths[] = {
	"/boot/grub/grub.cfg", "/grub/grub.cfg", "/boot/grub2/grub.cfg", "/grub2/grub.cfg",
};

/* -ENOENT: no configuration on this file system. */
static int read_menu(struct bl_fs *fs, struct bl_menu *menu, char *where, size_t wlen,
		     char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof config_paths / sizeof config_paths[0]; i++) {
		uint8_t *text;
		size_t len;
		uint64_t size;
		int rc = bl_fs_file_size(fs, config_paths[i], &size);

		if (rc == -ENOENT)
			continue;
		rc = bl_fs_read_file(fs, config_paths[i], BL_MAX_CONFIG, &text, &len, err, errlen);
		if (!rc) {
			rc = bl_grub_parse((const char *)text, len, menu, err, errlen);
			free(text);
		}
		snprintf(where, wlen, "%s", config_paths[i]);
		return rc;
	}
	return -ENOENT;
}

/* ---- no configuration: the newest kernel in /boot ----------------------------- */

struct newest {
	char version[BL_MAX_PATH];
};

static int newer_kernel(void *arg, const char *name)
{
	struct newest *n = arg;
	const char *v;

	if (strncmp(name, "vmlinuz-", 8) || !name[8] || strlen(name) >= sizeof n->version)
		return 0;
	v = name + 8;
	if (!n->version[0] || strverscmp(v, n->version) > 0)
		snprintf(n->version, sizeof n->version, "%s", v);
	return 0;
}

static bool is_file(struct bl_fs *fs, const char *path)
{
	uint64_t size;

	return bl_fs_file_size(fs, path, &size) == 0;
}

/* Debian's versioned names first, then its /vmlinuz links. */
static int newest_kernel(struct bl_fs *fs, struct bl_choice *c)
{
	static const char *const initrd_fmt[] = {
		"/boot/initrd.img-%s", "/boot/initrd-%s.img", "/boot/initramfs-%s.img",
	};
	static const char *const links[][2] = {
		{ "/vmlinuz", "/initrd.img" }, { "/boot/vmlinuz", "/boot/initrd.img" },
	};
	struct newest n = { "" };

	if (bl_fs_list_dir(fs, "/boot", newer_kernel, &n) == 0 && n.version[0]) {
		snprintf(c->kernel, sizeof c->kernel, "/boot/vmlinuz-%.*s",
			 (int)(sizeof c->kernel - 16), n.version);
		for (size_t i = 0; i < sizeof initrd_fmt / sizeof initrd_fmt[0]; i++) {
			snprintf(c->initrd[0], sizeof c->initrd[0], initrd_fmt[i], n.version);
			if (is_file(fs, c->initrd[0])) {
				c->nr_initrds = 1;
				break;
			}
		}
		snprintf(c->title, sizeof c->title, "newest kernel in /boot (%.*s)",
			 (int)(sizeof c->title - 32), n.version);
		return 0;
	}
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		if (!is_file(fs, links[i][0]))
			continue;
		snprintf(c->kernel, sizeof c->kernel, "%s", links[i][0]);
		if (is_file(fs, links[i][1])) {
			snprintf(c->initrd[0], sizeof c->initrd[0], "%s", links[i][1]);
			c->nr_initrds = 1;
		}
		snprintf(c->title, sizeof c->title, "%s", links[i][0]);
		return 0;
	}
	return -ENOENT;
}

/* ---- one partition ------------------------------------------------------------- */

/* pygrub: the entry's arguments, a space, then xl.cfg's. */
static int set_cmdline(struct bl_choice *c, const char *entry_args, const char *xl_args,
		       char *err, size_t errlen)
{
	size_t a = strlen(entry_args), b = xl_args ? strlen(xl_args) : 0;
	size_t sep = a && b ? 1 : 0;

	if (a + sep + b >= sizeof c->cmdline)
		return bl_fail(err, errlen, -E2BIG, "the command line would be longer than %zu "
			       "bytes", sizeof c->cmdline - 1);
	memcpy(c->cmdline, entry_args, a);
	memcpy(c->cmdline + a, " ", sep);
	memcpy(c->cmdline + a + sep, xl_args ? xl_args : "", b);
	c->cmdline[a + sep + b] = '\0';
	return 0;
}

static int check_files(struct bl_fs *fs, const struct bl_choice *c, char *err, size_t errlen)
{
	uint64_t size;
	int rc = bl_fs_file_size(fs, c->kernel, &size);

	if (rc)
		return bl_fail(err, errlen, rc, "entry \"%s\": kernel %s: %s", c->title, c->kernel,
			       rc == -ENOENT ? "no such file" : "not a readable regular file");
	for (unsigned i = 0; i < c->nr_initrds; i++) {
		rc = bl_fs_file_size(fs, c->initrd[i], &size);
		if (rc)
			return bl_fail(err, errlen, rc, "entry \"%s\": initrd %s: %s", c->title,
				       c->initrd[i], rc == -ENOENT ? "no such file"
				       : "not a readable regular file");
	}
	return 0;
}

/* 0: chosen; -ENOENT: nothing bootable here (err says why); else an error. */
static int choose_on(struct bl_fs *fs, const struct bl_options *opt, struct bl_choice *c,
		     char *err, size_t errlen)
{
	struct bl_menu menu;
	int rc = read_menu(fs, &menu, c->config, sizeof c->config, err, errlen);

	if (rc == -ENOENT) {
		c->config[0] = '\0';
		rc = newest_kernel(fs, c);
		if (rc)
			return bl_fail(err, errlen, -ENOENT, "no GRUB configuration (%s) and no "
				       "kernel in /boot", config_paths[0]);
		rc = set_cmdline(c, "", opt ? opt->args : NULL, err, errlen);
		return rc ? rc : check_files(fs, c, err, errlen);
	}
	if (rc)
		return rc;
	const struct bl_entry *e = bl_menu_pick(&menu, opt ? opt->entry : NULL);
	if (!e) {
		bl_menu_free(&menu);
		return bl_fail(err, errlen, -ENOENT, "%s has no menu entry with a linux line",
			       c->config);
	}
	snprintf(c->title, sizeof c->title, "%s", e->item.title);
	snprintf(c->kernel, sizeof c->kernel, "%s", e->kernel);
	c->nr_initrds = e->nr_initrds;
	memcpy(c->initrd, e->initrd, sizeof c->initrd);
	rc = set_cmdline(c, e->args, opt ? opt->args : NULL, err, errlen);
	bl_menu_free(&menu);
	return rc ? rc : check_files(fs, c, err, errlen);
}

int bl_choose(int fd, uint64_t disk_size, const struct bl_options *opt,
	      struct bl_choice *choice, struct bl_fs **fs_out, char *err, size_t errlen)
{
	struct bl_part parts[BL_MAX_PARTS];
	enum bl_table table;
	char why[512] = "", first[600] = "";
	bool opened = false;
	size_t nr;
	int rc;

	*fs_out = NULL;
	rc = bl_disk_partitions(fd, disk_size, &table, parts, BL_MAX_PARTS, &nr, err, errlen);
	if (rc)
		return rc;
	for (size_t i = 0; i < nr; i++) {
		struct bl_fs *fs;
		char where[32];

		if (parts[i].number)
			snprintf(where, sizeof where, "partition %u", parts[i].number);
		else
			snprintf(where, sizeof where, "the whole disk");
		rc = bl_fs_open(fd, parts[i].offset, parts[i].length, &fs, why, sizeof why);
		if (rc) {
			if (!first[0])
				snprintf(first, sizeof first, "%s: %s", where, why);
			continue;
		}
		memset(choice, 0, sizeof *choice);
		choice->partition = parts[i].number;
		choice->part_offset = parts[i].offset;
		choice->part_length = parts[i].length;
		rc = choose_on(fs, opt, choice, why, sizeof why);
		if (rc == 0) {
			*fs_out = fs;
			return 0;
		}
		bl_fs_close(fs);
		/* As pygrub: go on to the next partition, but report what the
		 * first file system said rather than "not ext4" elsewhere. */
		if (!opened)
			snprintf(first, sizeof first, "%s: %s", where, why);
		opened = true;
	}
	if (!opened)
		return bl_fail(err, errlen, -EINVAL, "no ext2/3/4 file system on the disk (%s)",
			       first);
	return bl_fail(err, errlen, -ENOENT, "nothing to boot: %s", first);
}

int bl_list(int fd, uint64_t disk_size, struct bl_menu *menu, struct bl_choice *where,
	    char *err, size_t errlen)
{
	struct bl_part parts[BL_MAX_PARTS];
	enum bl_table table;
	size_t nr;
	int rc = bl_disk_partitions(fd, disk_size, &table, parts, BL_MAX_PARTS, &nr, err, errlen);

	if (rc)
		return rc;
	for (size_t i = 0; i < nr; i++) {
		struct bl_fs *fs;
		if (bl_fs_open(fd, parts[i].offset, parts[i].length, &fs, err, errlen))
			continue;
		memset(where, 0, sizeof *where);
		where->partition = parts[i].number;
		where->part_offset = parts[i].offset;
		where->part_length = parts[i].length;
		rc = read_menu(fs, menu, where->config, sizeof where->config, err, errlen);
		bl_fs_close(fs);
		if (rc != -ENOENT)
			return rc;
	}
	return bl_fail(err, errlen, -ENOENT, "no GRUB configuration on any partition");
}
