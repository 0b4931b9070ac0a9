/*
 * xl: the kxen command line, a thin client of kxend.  The command table
 * follows Xen's xl (struct cmd_spec); every command talks kxen-ctl/1
 * (docs/control-api.md) over $KXEN_RUNDIR/kxend.sock.
 */
#ifndef XL_H
#define XL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/control.h"
#include "toolstack/toolstack.h"

struct cmd_spec {
	const char *cmd_name;
	int (*cmd_impl)(int argc, char **argv);
	const char *cmd_desc;
	const char *cmd_usage;
	const char *cmd_option;
};

extern const struct cmd_spec cmd_table[];
extern const size_t cmdtable_len;
const struct cmd_spec *cmdtable_lookup(const char *name);
/* Prints "Usage: xl CMD USAGE" and the help, to stdout or stderr. */
void help(const char *name, bool to_stderr);

/* Command implementations: return 0 on success, 1 on failure (the
 * message is already on stderr). */
int main_create(int argc, char **argv);
int main_list(int argc, char **argv);
int main_destroy(int argc, char **argv);
int main_shutdown(int argc, char **argv);
int main_reboot(int argc, char **argv);
int main_console(int argc, char **argv);
int main_pause(int argc, char **argv);
int main_unpause(int argc, char **argv);
int main_help(int argc, char **argv);
int main_domid(int argc, char **argv);
int main_domname(int argc, char **argv);
int main_rename(int argc, char **argv);
int main_vcpu_set(int argc, char **argv);
int main_mem_set(int argc, char **argv);
int main_mem_max(int argc, char **argv);
int main_info(int argc, char **argv);
int main_dmesg(int argc, char **argv);
int main_uptime(int argc, char **argv);
int main_top(int argc, char **argv);
int main_pci_assignable_add(int argc, char **argv);
int main_pci_assignable_remove(int argc, char **argv);
int main_pci_assignable_list(int argc, char **argv);
int main_pci_attach(int argc, char **argv);
int main_pci_detach(int argc, char **argv);
int main_pci_list(int argc, char **argv);
int main_sched_credit(int argc, char **argv);
int main_sched_credit2(int argc, char **argv);
int main_cpupool_create(int argc, char **argv);
int main_cpupool_list(int argc, char **argv);
int main_cpupool_destroy(int argc, char **argv);
int main_cpupool_rename(int argc, char **argv);
int main_cpupool_cpu_add(int argc, char **argv);
int main_cpupool_cpu_remove(int argc, char **argv);
int main_cpupool_migrate(int argc, char **argv);
int main_cpupool_numa_split(int argc, char **argv);
int main_vcpu_list(int argc, char **argv);
int main_vcpu_pin(int argc, char **argv);
int main_trapstat(int argc, char **argv);

/* ---- domain records of a "list" reply (cmd_domain.c) ---------------------- */

/* One record; the strings point into the reply it was parsed from. */
struct xl_dom {
	const char *name, *state, *uuid, *kernel, *ramdisk, *cmdline;
	const char *on_poweroff, *on_reboot, *on_crash, *pci, *bootloader;
	uint64_t domid, mem, vcpus, cpu_ns, max_memkb, target_memkb, max_vcpus;
	uint64_t restarts, start_time, shutdown_reason, traps, max_grant_frames;
	bool has_start_time, has_reason;
	const char *disks[16];   /* disk specs (repeated "disk" fields) */
	size_t nr_disks;
};
/* "list" for one domain (dom != NULL) or all; *rep must be disposed and
 * *out freed by the caller.  0 or 1 (message printed). */
int xl_list(const char *dom, bool quiet, struct ctl_msg *rep, struct xl_dom **out, size_t *n);
int xl_records(const struct ctl_msg *rep, struct xl_dom **out, size_t *n);
/* Xen's memory sizes: a number with an optional suffix b/k/m/g/t (default
 * m), in KiB; -1 if malformed. */
int64_t xl_parse_mem_kb(const char *s);

/* ---- disks (cmd_block.c) ------------------------------------------------- */
/* The canonical spec the daemon gets for one parsed disk= entry: the
 * target made absolute, target= last.  Refuses (with a message) what the
 * block backend cannot serve, e.g. qcow2.  0 or -errno. */
int xl_disk_spec(const struct ts_disk *d, char *buf, size_t len);
int main_block_attach(int argc, char **argv);
int main_block_detach(int argc, char **argv);
int main_block_list(int argc, char **argv);

/* ---- talking to kxend (client.c) ---------------------------------------- */

/* A connection whose reply has been read; extra holds bytes that came
 * after the reply (the start of a console stream). */
struct xl_conn {
	int fd;
	char extra[4096];
	size_t extra_len;
};

/* Send a request built in *req (head = command) and read the reply into
 * *rep.  An "error ..." reply is printed and gives 1; a transport problem
 * is printed and gives 1; success gives 0.  With keep != NULL the
 * connection stays open in *keep (on success only). */
int xl_call(struct ctl_msg *req, struct ctl_msg *rep, struct xl_conn *keep);
/* The same; quiet leaves an "error" reply unprinted (still 1). */
int xl_call_ex(struct ctl_msg *req, struct ctl_msg *rep, struct xl_conn *keep, bool quiet);
/* One-field request ("dom") for the simple commands. */
int xl_call_dom(const char *command, const char *dom, struct ctl_msg *rep);
void xl_conn_close(struct xl_conn *c);

/* Relay between the terminal (or stdin/stdout) and a console stream until
 * the daemon closes it or the user types Ctrl-].  Returns 0 or 1. */
int xl_console_relay(struct xl_conn *c);

/* Print to stderr as "xl: ..." */
void xl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* -h and exactly nargs arguments (nargs < 0: at least -nargs): 0 go on, -1
 * help shown, 1 usage error. */
int xl_plain_args(int argc, char **argv, int nargs);
/* The same with one more option letter `flag` (0: none) that sets *set. */
int xl_flag_args(int argc, char **argv, int nargs, char flag, bool *set);

#endif
