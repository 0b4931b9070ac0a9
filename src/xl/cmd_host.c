/*
 * xl info / dmesg / uptime / top: the host and its domains at a glance.
 * Host facts (CPUs, memory, uname) are read here, from the same host the
 * daemon runs on; what only kxend knows comes from its "info" command.
 */
#include "xl/xl.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* ---- host facts ------------------------------------------------------------- */

/* "Key: value" lines of /proc/meminfo (kB). */
static uint64_t meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	size_t klen = strlen(key);
	uint64_t v = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtoull(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

struct cpu_facts {
	double mhz;
	unsigned cores_per_socket, threads_per_core, sockets;
};

/* From /proc/cpuinfo: "cpu MHz", "cpu cores", "siblings", "physical id". */
static void cpu_facts(struct cpu_facts *cf)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	unsigned cores = 0, siblings = 0;
	bool seen_id[256] = { false };

	*cf = (struct cpu_facts){ 0, 1, 1, 0 };
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		if (!strncmp(line, "cpu MHz", 7) && cf->mhz == 0)
			cf->mhz = strtod(colon + 1, NULL);
		else if (!strncmp(line, "cpu cores", 9) && !cores)
			cores = (unsigned)strtoul(colon + 1, NULL, 10);
		else if (!strncmp(line, "siblings", 8) && !siblings)
			siblings = (unsigned)strtoul(colon + 1, NULL, 10);
		else if (!strncmp(line, "physical id", 11)) {
			unsigned id = (unsigned)strtoul(colon + 1, NULL, 10);
			if (id < 256 && !seen_id[id]) {
				seen_id[id] = true;
				cf->sockets++;
			}
		}
	}
	fclose(f);
	if (cores)
		cf->cores_per_socket = cores;
	if (cores && siblings >= cores)
		cf->threads_per_core = siblings / cores;
}

static unsigned nr_nodes(void)
{
	char path[64];
	unsigned n = 0;

	for (unsigned i = 0; i < 1024; i++) {
		snprintf(path, sizeof path, "/sys/devices/system/node/node%u", i);
		if (access(path, F_OK))
			break;
		n++;
	}
	return n ? n : 1;
}

static const char *compiler(void)
{
#if defined(__clang__)
	return "clang " __clang_version__;
#elif defined(__GNUC__)
	return "gcc " __VERSION__;
#else
	return "unknown";
#endif
}

static const char *get_or(const struct ctl_msg *m, const char *key, const char *def)
{
	const char *v = ctl_msg_get(m, key);
	return v ? v : def;
}

#define INFO(key, ...) do { printf("%-23s: ", key); printf(__VA_ARGS__); putchar('\n'); } while (0)

int main_info(int argc, char **argv)
{
	struct ctl_msg req, rep;
	struct utsname u;
	struct cpu_facts cf;
	int c, rc;

	while ((c = getopt(argc, argv, "+hn")) != -1) {
		if (c == 'n')
			continue;   /* NUMA details: kxen has one view of memory */
		help("info", c != 'h');
		return c != 'h';
	}
	if (optind != argc) {
		help("info", true);
		return 1;
	}
	ctl_msg_init(&req);
	ctl_msg_init(&rep);
	ctl_msg_set_head(&req, "info");
	rc = xl_call(&req, &rep, NULL);
	if (rc)
		goto out;
	if (uname(&u))
		memset(&u, 0, sizeof u);
	cpu_facts(&cf);
	long online = sysconf(_SC_NPROCESSORS_ONLN), conf = sysconf(_SC_NPROCESSORS_CONF);
	const char *major = get_or(&rep, "xen_major", "?"), *minor = get_or(&rep, "xen_minor", "?");
	const char *extra = get_or(&rep, "xen_extra", "");

	INFO("host", "%s", u.nodename);
	INFO("release", "%s", u.release);
	INFO("version", "%s", u.version);
	INFO("machine", "%s", u.machine);
	INFO("nr_cpus", "%ld", online > 0 ? online : 1);
	INFO("max_cpu_id", "%ld", conf > 0 ? conf - 1 : 0);
	INFO("nr_nodes", "%u", nr_nodes());
	INFO("cores_per_socket", "%u", cf.cores_per_socket);
	INFO("threads_per_core", "%u", cf.threads_per_core);
	INFO("cpu_mhz", "%.3f", cf.mhz);
	INFO("virt_caps", "%s", "pv");
	INFO("total_memory", "%llu", (unsigned long long)meminfo_kb("MemTotal") / 1024);
	/* Domains are host processes: what the host can still give them. */
	INFO("free_memory", "%llu", (unsigned long long)meminfo_kb("MemAvailable") / 1024);
	INFO("sharing_freed_memory", "0");
	INFO("sharing_used_memory", "0");
	INFO("outstanding_claims", "0");
	INFO("free_cpus", "0");
	INFO("xen_major", "%s", major);
	INFO("xen_minor", "%s", minor);
	INFO("xen_extra", "%s", extra);
	INFO("xen_version", "%s.%s%s", major, minor, extra);
	INFO("xen_caps", "%s", get_or(&rep, "xen_caps", ""));
	INFO("xen_scheduler", "%s", get_or(&rep, "xen_scheduler", ""));
	INFO("xen_pagesize", "%s", get_or(&rep, "xen_pagesize", "4096"));
	INFO("platform_params", "virt_start=0xffff800000000000");
	INFO("xen_changeset", "kxen");
	INFO("xen_commandline", "%s", get_or(&rep, "xen_commandline", ""));
	INFO("cc_compiler", "%s", compiler());
	INFO("cc_compile_by", "kxen");
	INFO("cc_compile_domain", "kxen");
	INFO("cc_compile_date", "%s %s", __DATE__, __TIME__);
	INFO("build_id", "%s", "");
	INFO("xend_config_format", "4");
out:
	ctl_msg_dispose(&rep);
	ctl_msg_dispose(&req);
	return rc;
}

/* ---- dmesg ------------------------------------------------------------------------ */

int main_dmesg(int argc, char **argv)
{
	struct ctl_msg req, rep;
	bool clear = false;
	int c, rc;

	while ((c = getopt(argc, argv, "+hc")) != -1) {
		if (c == 'c') {
			clear = true;
			continue;
		}
		help("dmesg", c != 'h');
		return c != 'h';
	}
	if (optind != argc) {
		help("dmesg", true);
		return 1;
	}
	ctl_msg_init(&req);
	ctl_msg_init(&rep);
	ctl_msg_set_head(&req, "dmesg");
	if (clear)
		ctl_msg_add(&req, "clear", "1");
	rc = xl_call(&req, &rep, NULL);
	for (size_t i = 0; !rc && i < rep.nr_fields; i++)
		if (!strcmp(rep.fields[i].key, "line"))
			printf("%s\n", rep.fields[i].val);
	ctl_msg_dispose(&rep);
	ctl_msg_dispose(&req);
	return rc;
}

/* ---- uptime ------------------------------------------------------------------------ */

/* Xen's uptime_to_string(). */
static void uptime_string(uint64_t up, bool short_mode, char *buf, size_t len)
{
	unsigned day = (unsigned)(up / 86400), hour = (unsigned)(up % 86400 / 3600);
	unsigned min = (unsigned)(up % 3600 / 60), sec = (unsigned)(up % 60);
	const char *days = day > 1 ? " days, " : " day, ";

	if (short_mode) {
		if (day)
			snprintf(buf, len, "%u%s%2u:%02u", day, days, hour, min);
		else
			snprintf(buf, len, "%2u:%02u", hour, min);
	} else {
		if (day)
			snprintf(buf, len, "%u%s%2u:%02u:%02u", day, days, hour, min, sec);
		else
			snprintf(buf, len, "%2u:%02u:%02u", hour, min, sec);
	}
}

static void uptime_print(const struct xl_dom *r, bool short_mode, time_t now)
{
	char up[64], clock[16];
	struct tm tm;
	uint64_t secs = r->has_start_time && (uint64_t)now > r->start_time ?
			(uint64_t)now - r->start_time : 0;

	uptime_string(secs, short_mode, up, sizeof up);
	if (short_mode) {
		if (!localtime_r(&now, &tm) || !strftime(clock, sizeof clock, "%H:%M:%S", &tm))
			snprintf(clock, sizeof clock, "?");
		printf(" %s up %s, %s (%u)\n", clock, up, r->name, (unsigned)r->domid);
	} else {
		printf("%-33s %4u %s\n", r->name, (unsigned)r->domid, up);
	}
}

int main_uptime(int argc, char **argv)
{
	bool short_mode = false;
	int c, rc = 0;

	while ((c = getopt(argc, argv, "+hs")) != -1) {
		if (c == 's') {
			short_mode = true;
			continue;
		}
		help("uptime", c != 'h');
		return c != 'h';
	}
	/* Collect first: an unknown domain prints nothing but the error. */
	struct ctl_msg reps[64];
	struct xl_dom *recs[64] = { NULL };
	size_t ns[64] = { 0 }, nq = 0;
	if (argc - optind > 64) {
		xl_err("at most 64 domains at once");
		return 1;
	}
	if (optind == argc) {
		ctl_msg_init(&reps[0]);
		rc = xl_list(NULL, false, &reps[0], &recs[0], &ns[0]);
		nq = 1;
	}
	for (int i = optind; i < argc && !rc; i++, nq++) {
		ctl_msg_init(&reps[nq]);
		rc = xl_list(argv[i], false, &reps[nq], &recs[nq], &ns[nq]);
	}
	if (!rc) {
		time_t now = time(NULL);
		if (!short_mode)
			printf("%-33s %4s %s\n", "Name", "ID", "Uptime");
		for (size_t q = 0; q < nq; q++)
			for (size_t j = 0; j < ns[q]; j++)
				uptime_print(&recs[q][j], short_mode, now);
	}
	for (size_t q = 0; q < nq; q++) {
		free(recs[q]);
		ctl_msg_dispose(&reps[q]);
	}
	return rc;
}

/* ---- top ------------------------------------------------------------------------------ */

static volatile sig_atomic_t top_stop;

static void top_signal(int sig)
{
	top_stop = 1;
}

struct top_prev {
	uint64_t domid, cpu_ns, traps;
	char uuid[40];
};

/* xentop's state order: dying, shutdown, blocked, paused, crashed, running. */
static void top_state(const char *s, char out[7])
{
	if (!s)
		s = "------";
	snprintf(out, 7, "%c%c%c%c%c%c", s[5] == 'd' ? 'd' : '-', s[3] == 's' ? 's' : '-',
		 s[1] == 'b' ? 'b' : '-', s[2] == 'p' ? 'p' : '-', s[4] == 'c' ? 'c' : '-',
		 s[0] == 'r' ? 'r' : '-');
}

static double pct(double part, double whole)
{
	return whole > 0 ? part * 100.0 / whole : 0.0;
}

/* One screen; prev holds the CPU times of the last one (by domid and
 * UUID, so a restarted domain does not show a negative delta). */
static int top_once(bool batch, double interval_s, struct top_prev *prev, size_t *nprev)
{
	struct ctl_msg rep;
	struct xl_dom *recs;
	size_t n;
	uint64_t total_kb = meminfo_kb("MemTotal");

	ctl_msg_init(&rep);
	if (xl_list(NULL, false, &rep, &recs, &n)) {
		ctl_msg_dispose(&rep);
		return 1;
	}
	if (!batch) {
		time_t now = time(NULL);
		char clock[16] = "";
		struct tm tm;
		if (localtime_r(&now, &tm))
			strftime(clock, sizeof clock, "%H:%M:%S", &tm);
		printf("\033[H\033[2J");
		printf("xl top - %s   kxen (Xen %s ABI)\n", clock, "4.19.0-kxen");
		printf("%zu domains, Mem: %llu k total, %llu k free    (q quits)\n\n", n,
		       (unsigned long long)total_kb, (unsigned long long)meminfo_kb("MemAvailable"));
	}
	printf("      NAME  STATE   CPU(sec) CPU(%%)     MEM(k) MEM(%%)  MAXMEM(k) MAXMEM(%%) VCPUS"
	       "  TRAPS/s\n");
	struct top_prev *next = calloc(n ? n : 1, sizeof *next);
	for (size_t i = 0; i < n; i++) {
		const struct xl_dom *r = &recs[i];
		double cpu_pct = 0, traps_s = 0;
		char st[7];
		for (size_t j = 0; j < *nprev && interval_s > 0; j++) {
			if (prev[j].domid == r->domid && !strcmp(prev[j].uuid, r->uuid ? r->uuid : "") &&
			    r->cpu_ns >= prev[j].cpu_ns) {
				cpu_pct = (double)(r->cpu_ns - prev[j].cpu_ns) / 1e9 / interval_s * 100.0;
				if (r->traps >= prev[j].traps)
					traps_s = (double)(r->traps - prev[j].traps) / interval_s;
			}
		}
		if (next) {
			next[i].domid = r->domid;
			next[i].cpu_ns = r->cpu_ns;
			next[i].traps = r->traps;
			snprintf(next[i].uuid, sizeof next[i].uuid, "%s", r->uuid ? r->uuid : "");
		}
		top_state(r->state, st);
		uint64_t mem_kb = r->domid == 0 ? r->mem * 1024 : r->target_memkb ? r->mem * 1024 : 0;
		uint64_t max_kb = r->max_memkb;
		printf("%10.10s %6s %10llu %6.1f %10llu %6.1f ", r->name, st,
		       (unsigned long long)(r->cpu_ns / 1000000000ull), cpu_pct,
		       (unsigned long long)mem_kb, pct((double)mem_kb, (double)total_kb));
		if (r->domid == 0 || !max_kb)
			printf("  no limit       n/a");
		else
			printf("%10llu %9.1f", (unsigned long long)max_kb,
			       pct((double)max_kb, (double)total_kb));
		printf(" %5u %8.0f\n", (unsigned)r->vcpus, traps_s);
	}
	if (next) {
		memcpy(prev, next, (n < 256 ? n : 256) * sizeof *prev);
		*nprev = n < 256 ? n : 256;
	}
	free(next);
	free(recs);
	ctl_msg_dispose(&rep);
	fflush(stdout);
	return 0;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (!top_stop && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Interactive: wait for the delay or a 'q' on the terminal. */
static bool wait_or_quit(double s)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	char ch;

	if (poll(&p, 1, (int)(s * 1000)) > 0 && read(0, &ch, 1) == 1)
		return ch == 'q' || ch == 'Q';
	return top_stop != 0;
}

int main_top(int argc, char **argv)
{
	bool batch = false;
	long iterations = -1;
	double delay = 1.0;
	char *end;
	int c, rc = 0;

	while ((c = getopt(argc, argv, "+hbi:d:")) != -1) {
		switch (c) {
		case 'b': batch = true; break;
		case 'i':
			iterations = strtol(optarg, &end, 10);
			if (*end || iterations < 1) {
				xl_err("-i: expected a positive number of iterations, got \"%s\"", optarg);
				return 1;
			}
			break;
		case 'd':
			delay = strtod(optarg, &end);
			if (*end || !(delay > 0) || delay > 3600) {
				xl_err("-d: expected seconds between refreshes, got \"%s\"", optarg);
				return 1;
			}
			break;
		default:
			help("top", c != 'h');
			return c != 'h';
		}
	}
	if (optind != argc) {
		help("top", true);
		return 1;
	}
	signal(SIGINT, top_signal);
	signal(SIGTERM, top_signal);
	struct termios saved;
	bool raw = !batch && isatty(0) && tcgetattr(0, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		t.c_cc[VMIN] = 0;
		t.c_cc[VTIME] = 0;
		tcsetattr(0, TCSANOW, &t);
	}
	struct top_prev prev[256];
	size_t nprev = 0;
	for (long i = 0; !top_stop && (iterations < 0 || i < iterations); i++) {
		rc = top_once(batch, i ? delay : 0, prev, &nprev);
		if (rc || (iterations >= 0 && i + 1 >= iterations))
			break;
		if (batch)
			sleep_s(delay);
		else if (wait_or_quit(delay))
			break;
	}
	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	return rc;
}
