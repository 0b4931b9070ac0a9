/*
 * xl main: the command table (after Xen's xl_cmdtable.c) and dispatch.
 *
 *   xl [-h] SUBCOMMAND [ARGS]
 */
#include "xl/xl.h"

#include <stdio.h>
#include <string.h>

const struct cmd_spec cmd_table[] = {
	{ "create", main_create,
	  "Create a domain from config file <filename>",
	  "[options] <ConfigFile> [vars]",
	  "-h                      Print this help.\n"
	  "-p                      Leave the domain paused after it is created.\n"
	  "-c                      Connect to the console after the domain is created.\n"
	  "-n, --dryrun            Dry run - prints the resulting configuration\n"
	  "                        (as JSON) and does not create the domain.\n"
	  "vars                    key=value overrides appended to the config file." },
	{ "list", main_list,
	  "List information about all/some domains",
	  "[Domain...]",
	  "" },
	{ "destroy", main_destroy,
	  "Terminate a domain immediately",
	  "<Domain>",
	  "" },
	{ "shutdown", main_shutdown,
	  "Issue a shutdown signal to a domain",
	  "[options] <Domain>",
	  "-h                      Print this help.\n"
	  "-w                      Wait for the guest to shut down." },
	{ "reboot", main_reboot,
	  "Issue a reboot signal to a domain",
	  "[options] <Domain>",
	  "-h                      Print this help.\n"
	  "-w                      Wait for the guest to go away." },
	{ "console", main_console,
	  "Attach to domain's console",
	  "<Domain>",
	  "Ctrl-] detaches." },
	{ "pause", main_pause,
	  "Pause execution of a domain",
	  "<Domain>",
	  "" },
	{ "unpause", main_unpause,
	  "Unpause a paused domain",
	  "<Domain>",
	  "" },
	{ "help", main_help,
	  "Print help information",
	  "[command]",
	  "" },
};
const size_t cmdtable_len = sizeof cmd_table / sizeof cmd_table[0];

const struct cmd_spec *cmdtable_lookup(const char *name)
{
	for (size_t i = 0; i < cmdtable_len; i++)
		if (!strcmp(cmd_table[i].cmd_name, name))
			return &cmd_table[i];
	return NULL;
}

static void help_all(FILE *f)
{
	fprintf(f, "Usage xl [-h] <subcommand> [args]\n\n"
		   "xl full list of subcommands:\n\n");
	for (size_t i = 0; i < cmdtable_len; i++)
		fprintf(f, " %-19s %s\n", cmd_table[i].cmd_name, cmd_table[i].cmd_desc);
}

void help(const char *name, bool to_stderr)
{
	FILE *f = to_stderr ? stderr : stdout;
	const struct cmd_spec *cmd = name ? cmdtable_lookup(name) : NULL;

	if (!cmd) {
		if (name)
			fprintf(f, "command \"%s\" not implemented\n", name);
		help_all(f);
		return;
	}
	fprintf(f, "Usage: xl %s %s\n\n%s.\n\n", cmd->cmd_name, cmd->cmd_usage, cmd->cmd_desc);
	if (cmd->cmd_option[0])
		fprintf(f, "Options:\n\n%s\n", cmd->cmd_option);
}

int main_help(int argc, char **argv)
{
	if (argc > 2) {
		help("help", true);
		return 1;
	}
	help(argc == 2 ? argv[1] : NULL, false);
	return 0;
}

int main(int argc, char **argv)
{
	const struct cmd_spec *cmd;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		help(NULL, argc < 2);
		return argc < 2 ? 1 : 0;
	}
	cmd = cmdtable_lookup(argv[1]);
	if (!cmd) {
		fprintf(stderr, "xl: command \"%s\" not implemented\n", argv[1]);
		help_all(stderr);
		return 1;
	}
	/* Subcommands see argv[0] = their own name, as in Xen's xl. */
	int rc = cmd->cmd_impl(argc - 1, argv + 1);
	if (fflush(stdout)) {
		perror("xl: stdout");
		return 1;
	}
	return rc ? 1 : 0;
}
