/*
 * bootloader.h — pygrub without Python: boot a PV guest from its own disk.
 *
 * Given the guest's first disk (a raw image or block device), finds the
 * partitions (MBR or GPT, or a whole-disk file system), opens each ext2/3/4
 * file system through e2fsprogs' libext2fs, reads the first GRUB 2
 * configuration pygrub looks for (/boot/grub/grub.cfg, /grub/grub.cfg,
 * /boot/grub2/grub.cfg, /grub2/grub.cfg), picks its default entry (or the
 * newest /boot/vmlinuz-* when there is no configuration), and reads that
 * kernel and initrd.  The command line is the entry's arguments followed by
 * the xl.cfg ones (root=, extra=, cmdline=), as pygrub joins them.
 *
 * Everything on the disk is hostile: every read is bounded by the disk and
 * the partition, files by BL_MAX_*; garbage gives an error, never a crash.
 * The daemon still never parses a guest disk itself: it runs the
 * `kxen-pygrub` program (tools/kxen-pygrub) under bl_spawn(), which drops
 * its privileges and limits before reading the disk and hands back the
 * kernel and ramdisk in memory files; its answer is checked like guest
 * input too.
 *
 * Functions return 0 or a negative errno and write a message to err.
 */
#ifndef KXEN_BOOTLOADER_H
#define KXEN_BOOTLOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BL_SECTOR          512u
#define BL_MAX_PARTS       128     /* partitions looked at on one disk */
#define BL_MAX_CONFIG      (1u << 20)   /* grub.cfg bytes read, as pygrub */
#define BL_MAX_ENTRIES     256
#define BL_MAX_DEPTH       16      /* nested blocks in grub.cfg */
#define BL_MAX_PATH        1024
#define BL_MAX_TITLE       256
#define BL_MAX_ARGS        4096
#define BL_MAX_INITRDS     8
#define BL_MAX_KERNEL      (256ull << 20)   /* the builder's limit too */
#define BL_MAX_RAMDISK     (1ull << 30)

/* ---- partitions --------------------------------------------------------- */

enum bl_table { BL_TABLE_NONE, BL_TABLE_MBR, BL_TABLE_GPT };

struct bl_part {
	unsigned number;     /* 1-based as Linux names it (xvda1); 0 = whole disk */
	uint64_t offset;     /* bytes from the start of the disk */
	uint64_t length;     /* bytes, never past the end of the disk */
};

/* The file systems to try, in pygrub's order: an MBR's active partition
 * first, then the others; GPT entries in table order; the whole disk when
 * there is no table (or a table without a usable entry). */
int bl_disk_partitions(int fd, uint64_t disk_size, enum bl_table *table,
		       struct bl_part *parts, size_t max, size_t *nr,
		       char *err, size_t errlen);

/* ---- grub.cfg ------------------------------------------------------------ */

/* A submenu, or a menu entry: what GRUB's `default` can name. */
struct bl_item {
	char title[BL_MAX_TITLE];
	char id[BL_MAX_TITLE];          /* --id / $menuentry_id_option, or "" */
	unsigned index;                 /* position among its siblings */
	int parent;                     /* index in bl_menu.submenus, -1 = top */
};

struct bl_entry {
	struct bl_item item;
	char path[64];                  /* "2" or "1>0": GRUB's index path */
	char kernel[BL_MAX_PATH];       /* "" when the entry has no linux line */
	char args[BL_MAX_ARGS];
	unsigned nr_initrds;
	char initrd[BL_MAX_INITRDS][BL_MAX_PATH];  /* concatenated, in order */
};

struct bl_menu {
	struct bl_entry *entries;       /* every menuentry, in menu order */
	size_t nr_entries;
	struct bl_item *submenus;
	size_t nr_submenus;
	char default_spec[BL_MAX_TITLE];  /* set default=... as written ("" = 0) */
	char warning[256];              /* something ignored, "" if none */
};

/* Parses GRUB 2 configuration text (len bytes, need not end in NUL). */
int bl_grub_parse(const char *text, size_t len, struct bl_menu *menu,
		  char *err, size_t errlen);
void bl_menu_free(struct bl_menu *menu);
/* The entry `spec` names, or the default one for spec == NULL.  A spec is
 * GRUB's: items separated by '>' from the top menu down to the entry, each
 * an index, a title or an id ("1>2", "Advanced options for Debian>Debian,
 * with Linux 6.1.0-9-amd64"); a lone title or id also matches an entry
 * inside a submenu (as pygrub does).  "saved" and unexpanded variables
 * (${saved_entry}) mean 0.  When the spec names no entry with a kernel:
 * the first entry that has one.  NULL if no entry has a kernel. */
const struct bl_entry *bl_menu_pick(const struct bl_menu *menu, const char *spec);

/* ---- the whole choice ---------------------------------------------------- */

struct bl_options {
	const char *entry;     /* --entry: index path, title or id; NULL = default */
	const char *args;      /* appended to the entry's arguments; may be NULL */
	uint64_t max_ramdisk;  /* bytes; 0 = BL_MAX_RAMDISK (bl_spawn only) */
};

struct bl_choice {
	unsigned partition;          /* bl_part.number it came from */
	uint64_t part_offset, part_length;
	char config[64];             /* "/boot/grub/grub.cfg", or "" */
	char title[BL_MAX_TITLE];    /* the entry, or "newest kernel in /boot" */
	char kernel[BL_MAX_PATH];
	unsigned nr_initrds;
	char initrd[BL_MAX_INITRDS][BL_MAX_PATH];
	char cmdline[BL_MAX_ARGS];
};

struct bl_fs;

/* Opens an ext2/3/4 file system in [offset, offset+length) of fd, read
 * only; nothing outside that range is ever read. */
int bl_fs_open(int fd, uint64_t offset, uint64_t length, struct bl_fs **out,
	       char *err, size_t errlen);
void bl_fs_close(struct bl_fs *fs);
/* Size of a regular file (symlinks followed); -ENOENT if absent. */
int bl_fs_file_size(struct bl_fs *fs, const char *path, uint64_t *size);
/* Reads a whole regular file of at most max bytes into a malloc'ed buffer. */
int bl_fs_read_file(struct bl_fs *fs, const char *path, uint64_t max, uint8_t **buf,
		    size_t *len, char *err, size_t errlen);
/* Appends a regular file of at most max bytes to out_fd. */
int bl_fs_copy_file(struct bl_fs *fs, const char *path, uint64_t max, int out_fd,
		    uint64_t *copied, char *err, size_t errlen);
/* Calls fn for each name in a directory (not "." and ".."); stops when fn
 * returns non-zero. */
int bl_fs_list_dir(struct bl_fs *fs, const char *dir,
		   int (*fn)(void *arg, const char *name), void *arg);

/* Opens the file system of each partition in turn and picks what to boot
 * from the first one that has a configuration (or a kernel in /boot).  On
 * success *fs_out is that file system (read the files with it, then
 * bl_fs_close it). */
int bl_choose(int fd, uint64_t disk_size, const struct bl_options *opt,
	      struct bl_choice *choice, struct bl_fs **fs_out,
	      char *err, size_t errlen);
/* The whole menu of the first file system that has one (pygrub -l). */
int bl_list(int fd, uint64_t disk_size, struct bl_menu *menu, struct bl_choice *where,
	    char *err, size_t errlen);

/* ---- running kxen-pygrub from the daemon --------------------------------- */

struct bl_result {
	uint8_t *kernel;             /* malloc'ed */
	size_t kernel_len;
	uint8_t *ramdisk;            /* malloc'ed; NULL when the entry has none */
	size_t ramdisk_len;
	char cmdline[BL_MAX_ARGS];
	char kernel_path[BL_MAX_PATH];  /* in the guest's file system, for logs */
	char title[BL_MAX_TITLE];
	unsigned partition;
};

/*
 * Runs the program `helper` (kxen-pygrub) on disk in a child that drops to
 * an unprivileged user with resource limits, kills it (and anything it
 * started) after timeout_ms, and takes the kernel and ramdisk back from
 * memory files, at most BL_MAX_KERNEL and opt->max_ramdisk bytes.  err gets the
 * helper's own message on failure ("no bootloader configuration and no
 * kernel in /boot ...").
 */
int bl_spawn(const char *helper, const char *disk, const struct bl_options *opt,
	     int timeout_ms, struct bl_result *res, char *err, size_t errlen);
void bl_result_free(struct bl_result *res);

/* "pygrub" or a path ending in "/pygrub": the bootloaders kxen runs. */
bool bl_is_pygrub(const char *bootloader);

#endif
