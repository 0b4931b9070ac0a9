/*
 * xl main: the command table (after Xen's xl_cmdtable.c) and dispatch.
 *
 *   xl [-h] SUBCOMMAND [ARGS]
 */
#include "xl/xl.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

const struct cmd_spec cmd_table[] = {
	{ "create", main_create,
	  "Create a domain from config file <filename>",
	  "[options] <ConfigFile> [vars]",
	  "-h                      Print this help.\n"
	  "-p                      Leave the domain paused after it is created.\n"
	  "-c                      Connect to the console after the domain is created.\n"
	  "-f FILE, --defconfig=FILE\n"
	  "                        Use the given configuration file.\n"
	  "-q, --quiet             Quiet.\n"
	  "-n, --dryrun            Dry run - prints the resulting configuration\n"
	  "                        (as JSON) and does not create the domain.\n"
	  "vars                    key=value overrides appended to the config file." },
	{ "list", main_list,
	  "List information about all/some domains",
	  "[options] [Domain...]",
	  "-l, --long              Output all VM details (JSON, libxl's keys)\n"
	  "-v, --verbose           Prints out UUIDs and the shutdown reason code" },
	{ "destroy", main_destroy,
	  "Terminate a domain immediately",
	  "<Domain>",
	  "" },
	{ "shutdown", main_shutdown,
	  "Issue a shutdown signal to a domain",
	  "[options] <-a|Domain>",
	  "-a                      Shutdown all guest domains.\n"
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
	{ "rename", main_rename,
	  "Rename a domain",
	  "<Domain> <NewDomainName>",
	  "Also updates /local/domain/<domid>/name in XenStore and the name of\n"
	  "the console log." },
	{ "domid", main_domid,
	  "Convert a domain name to domain id",
	  "<DomainName>",
	  "" },
	{ "domname", main_domname,
	  "Convert a domain id to domain name",
	  "<DomainId>",
	  "" },
	{ "vcpu-set", main_vcpu_set,
	  "Set the number of active VCPUs allowed for the domain",
	  "<Domain> <vCPUs>",
	  "Writes cpu/<n>/availability = online/offline in the domain's XenStore\n"
	  "home for every possible vCPU; the guest brings them up or down.\n"
	  "At most the domain's maxvcpus." },
	{ "mem-set", main_mem_set,
	  "Set the current memory usage for a domain",
	  "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>",
	  "Writes memory/target (the balloon driver's goal); at most the\n"
	  "domain's maximum (xl mem-max)." },
	{ "mem-max", main_mem_max,
	  "Set the maximum amount reservation for a domain",
	  "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>",
	  "Writes memory/static-max; refused beyond the maxmem the domain was\n"
	  "built with, and below its current target." },
	{ "info", main_info,
	  "Get information about Xen host",
	  "[-n]",
	  "-n, --numa              List host NUMA topology information (ignored)" },
	{ "dmesg", main_dmesg,
	  "Read and/or clear dmesg buffer",
	  "[-c]",
	  "-c                      Clear dmesg buffer as well as printing it\n"
	  "The buffer is kxend's own log (its console ring)." },
	{ "uptime", main_uptime,
	  "Print uptime for all/some domains",
	  "[-s] [Domain]",
	  "-s                      Short output" },
	{ "top", main_top,
	  "Monitor a host and the domains in real time",
	  "[-b] [-i ITERATIONS] [-d DELAY]",
	  "-b                      Batch mode: no screen control, for scripts\n"
	  "-i ITERATIONS           Stop after this many refreshes\n"
	  "-d DELAY                Seconds between refreshes (default 1)\n"
	  "Columns as xentop: NAME STATE CPU(sec) CPU(%) MEM(k) MEM(%) MAXMEM(k)\n"
	  "MAXMEM(%) VCPUS, then kxen's TRAPS/s (exits to the hypervisor per second).\n"
	  "Interactive mode quits on q or Ctrl-C." },
	{ "pci-attach", main_pci_attach,
	  "Insert a new pass-through pci device",
	  "<Domain> <BDF>",
	  "Fails, saying exactly what the host lacks, unless the host has an\n"
	  "IOMMU, the device has an iommu_group and vfio-pci is loaded; the device\n"
	  "must be assignable (xl pci-assignable-add).  Even then it fails for now:\n"
	  "kxen has no PCI passthrough backend yet, and says so." },
	{ "pci-detach", main_pci_detach,
	  "Remove a domain's pass-through pci device",
	  "<Domain> <BDF>",
	  "" },
	{ "pci-list", main_pci_list,
	  "List pass-through pci devices for a domain",
	  "<Domain>",
	  "" },
	{ "pci-assignable-add", main_pci_assignable_add,
	  "Make a device assignable for pci-passthru",
	  "[-r] <BDF>",
	  "Unbinds the device from its driver (remembered) and binds it to\n"
	  "vfio-pci or pciback when loaded.\n"
	  "-r                      Accepted for symmetry; the driver is always\n"
	  "                        remembered for pci-assignable-remove -r." },
	{ "pci-assignable-remove", main_pci_assignable_remove,
	  "Remove a device from being assignable",
	  "[-r] <BDF>",
	  "-r                      Attempt to re-assign the device to the\n"
	  "                        original driver" },
	{ "pci-assignable-list", main_pci_assignable_list,
	  "List all the assignable pci devices",
	  "",
	  "" },
	{ "vcpu-list", main_vcpu_list,
	  "List the VCPUs for all/some domains",
	  "[Domain, ...]",
	  "Columns as Xen's: Name ID VCPU CPU State Time(s) Affinity (Hard / Soft).\n"
	  "CPU is the pCPU the vCPU runs on (or last ran on); State r = running,\n"
	  "b = blocked, p = offline." },
	{ "vcpu-pin", main_vcpu_pin,
	  "Set which CPUs a VCPU can use",
	  "[option] <Domain> <VCPU|all> <Hard affinity|-|all> <Soft affinity|-|all>",
	  "-f, --force        undo an override pinning done by the kernel (accepted,\n"
	  "                   nothing to undo on kxen)\n"
	  "Affinities are CPU lists like 0-1,3 or all,^2 or node:0 (a NUMA node's\n"
	  "CPUs); '-' leaves one unchanged.  A vCPU runs only on the CPUs of its\n"
	  "hard affinity within its cpupool." },
	{ "trapstat", main_trapstat,
	  "Show where a domain's exits to the hypervisor went (kxen)",
	  "[-v VCPU] [-n N] [-s MAP] <Domain>",
	  "-v VCPU, --vcpu VCPU    Only this vCPU (default: all)\n"
	  "-n N, --hot N           Show the N hottest guest RIPs (default 20)\n"
	  "-s MAP, --symbols MAP   Name the RIPs from the guest kernel's System.map\n"
	  "                        or a copy of its /proc/kallsyms\n"
	  "Counts every exit by kind (exception vector, hypercall and sub-op,\n"
	  "emulated instruction, ...) with the time the daemon spent on it." },
	{ "sched-credit", main_sched_credit,
	  "Get/set credit scheduler parameters",
	  "[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]] [-s [-t TSLICE] [-r RATELIMIT] [-m DELAY]] "
	  "[-p CPUPOOL]",
	  "-d DOMAIN, --domain=DOMAIN        Domain to modify\n"
	  "-w WEIGHT, --weight=WEIGHT        Weight (int, 1-65535)\n"
	  "-c CAP, --cap=CAP                 Cap (int, 0 = none, at most 100 per vCPU)\n"
	  "-s         --schedparam           Query / modify scheduler parameters\n"
	  "-t TSLICE, --tslice_ms=TSLICE     Set the timeslice, in milliseconds (1-1000)\n"
	  "-r RLIMIT, --ratelimit_us=RLIMIT  Set the scheduling rate limit, in microseconds\n"
	  "                                  (0 = off, else 100-500000, not above the timeslice)\n"
	  "-m DELAY, --migration_delay_us=DELAY\n"
	  "                                  Set the migration delay, in microseconds: how long\n"
	  "                                  a vCPU stays cache-hot on the CPU it last ran on,\n"
	  "                                  so idle CPUs do not take it (0 = off, up to 100000)\n"
	  "-p CPUPOOL, --cpupool=CPUPOOL     Restrict output to CPUPOOL" },
	{ "sched-credit2", main_sched_credit2,
	  "Get/set credit2 scheduler parameters",
	  "[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]] [-s [-r RATELIMIT]] [-p CPUPOOL]",
	  "-d DOMAIN, --domain=DOMAIN        Domain to modify\n"
	  "-w WEIGHT, --weight=WEIGHT        Weight (int, 1-65535)\n"
	  "-c CAP, --cap=CAP                 Cap (int, 0 = none, at most 100 per vCPU)\n"
	  "-s         --schedparam           Query / modify scheduler parameters\n"
	  "-r RLIMIT, --ratelimit_us=RLIMIT  Set the scheduling rate limit, in microseconds\n"
	  "                                  (0 = off, else 100-500000)\n"
	  "-p CPUPOOL, --cpupool=CPUPOOL     Restrict output to CPUPOOL" },
	{ "cpupool-create", main_cpupool_create,
	  "Create a new CPU pool",
	  "[options] [<ConfigFile>] [Variable=value ...]",
	  "-h, --help                   Print this help.\n"
	  "-f FILE, --defconfig=FILE    Use the given configuration file.\n"
	  "-n, --dryrun                 Dry run - prints the resulting configuration.\n"
	  "Keys: name=\"NAME\" (required), sched=\"credit\"|\"credit2\" (default credit),\n"
	  "cpus=\"1,3-4\" (a CPU list: ^N removes, node:N is a NUMA node) or\n"
	  "[\"1\", \"3\"] (free CPUs; default one free CPU), or nodes=[0, ...]\n"
	  "(the free CPUs of those nodes; wins over cpus=)." },
	{ "cpupool-list", main_cpupool_list,
	  "List CPU pools on host",
	  "[-c|--cpus] [<CPU Pool>]",
	  "-c, --cpus                     Output list of CPUs used by a pool" },
	{ "cpupool-destroy", main_cpupool_destroy,
	  "Deactivates a CPU pool",
	  "<CPU Pool>",
	  "Refused while domains are in it, and for Pool-0; its CPUs become free." },
	{ "cpupool-rename", main_cpupool_rename,
	  "Renames a CPU pool",
	  "<CPU Pool> <new name>",
	  "" },
	{ "cpupool-cpu-add", main_cpupool_cpu_add,
	  "Adds a CPU to a CPU pool",
	  "<CPU Pool> <CPU nr>|node:<node nr>[,...]",
	  "A CPU list (0-1, all,^0, node:0).  Each CPU must be free (see\n"
	  "cpupool-cpu-remove) and owned by kxend; every one is tried, and the\n"
	  "command fails if any could not be added." },
	{ "cpupool-cpu-remove", main_cpupool_cpu_remove,
	  "Removes a CPU from a CPU pool",
	  "<CPU Pool> <CPU nr>|node:<node nr>[,...]",
	  "A vCPU running there moves to the pool's other CPUs; the last CPU of a\n"
	  "pool with domains cannot be removed." },
	{ "cpupool-migrate", main_cpupool_migrate,
	  "Moves a domain into a CPU pool",
	  "<Domain> <CPU Pool>",
	  "The domain keeps running; afterwards its vCPUs run only on the CPUs of\n"
	  "the new pool.  Weight and cap go with it." },
	{ "cpupool-numa-split", main_cpupool_numa_split,
	  "Splits up the machine into one CPU pool per NUMA node",
	  "",
	  "One pool per NUMA node of the host (from sysfs); Pool-0 becomes\n"
	  "Pool-node0." },
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

/* A command whose only options are -h and, if `flag` is non-zero, -<flag>
 * (sets *set), with exactly nargs arguments: 0 to go on, -1 after printing
 * help on request, 1 on a usage error. */
int xl_flag_args(int argc, char **argv, int nargs, char flag, bool *set)
{
	char opts[4] = { '+', 'h', flag, 0 };
	int c;

	if (set)
		*set = false;
	while ((c = getopt(argc, argv, opts)) != -1) {
		if (flag && c == flag) {
			*set = true;
			continue;
		}
		help(argv[0], c != 'h');
		return c == 'h' ? -1 : 1;
	}
	if (argc - optind != nargs) {
		help(argv[0], true);
		return 1;
	}
	return 0;
}

int xl_plain_args(int argc, char **argv, int nargs)
{
	return xl_flag_args(argc, argv, nargs, 0, NULL);
}
