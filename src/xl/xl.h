/*
 * xl: the kxen command line, a thin client of kxend.  The command table
 * follows Xen's xl (struct cmd_spec); every command talks kxen-ctl/1
 * (docs/control-api.md) over $KXEN_RUNDIR/kxend.sock.
 */
#ifndef XL_H
#define XL_H

#include <stdbool.h>
#include <stddef.h>

#include "control/control.h"

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

#endif
