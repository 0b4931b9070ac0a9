/*
 * blkbench: what bench/blk/blk.sh runs on both sides -- in the guest on
 * /dev/xvdb (static binary in the initramfs) and on the host on the image
 * file -- so the two columns measure the same thing.
 *
 *   blkbench seqread  PATH MIB         1 MiB O_DIRECT reads
 *   blkbench seqwrite PATH MIB         1 MiB O_DIRECT writes, then fdatasync
 *   blkbench randread PATH MIB SECONDS THREADS
 *                                      4 KiB O_DIRECT reads at random
 *                                      4 KiB-aligned offsets in the first
 *                                      MIB, THREADS at a time
 *
 * Prints one line "blkbench: OP mib_s=X iops=Y bytes=N seconds=S".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void report(const char *op, uint64_t bytes, uint64_t ops, double secs)
{
	printf("blkbench: %s mib_s=%.1f iops=%.0f bytes=%llu seconds=%.3f\n", op,
	       (double)bytes / 1048576.0 / secs, (double)ops / secs, (unsigned long long)bytes,
	       secs);
	fflush(stdout);
}

static void sequential(const char *path, uint64_t mib, int write)
{
	int fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_DIRECT);
	void *buf;

	if (fd < 0)
		die(path);
	if (posix_memalign(&buf, 4096, 1 << 20))
		die("memalign");
	memset(buf, 0x5a, 1 << 20);
	double t0 = now();
	for (uint64_t i = 0; i < mib; i++) {
		ssize_t n = write ? pwrite(fd, buf, 1 << 20, (off_t)(i << 20))
				  : pread(fd, buf, 1 << 20, (off_t)(i << 20));
		if (n != 1 << 20)
			die(write ? "pwrite" : "pread");
	}
	if (write && fdatasync(fd))
		die("fdatasync");
	report(write ? "seqwrite" : "seqread", mib << 20, mib, now() - t0);
	close(fd);
}

struct rr {
	int fd;
	uint64_t blocks, seed, ops;
	double end;
};

static void *rand_worker(void *arg)
{
	struct rr *r = arg;
	void *buf;

	if (posix_memalign(&buf, 4096, 4096))
		die("memalign");
	while (now() < r->end) {
		for (int i = 0; i < 16; i++) {
			r->seed ^= r->seed << 13, r->seed ^= r->seed >> 7, r->seed ^= r->seed << 17;
			if (pread(r->fd, buf, 4096, (off_t)((r->seed % r->blocks) << 12)) != 4096)
				die("pread");
			r->ops++;
		}
	}
	free(buf);
	return NULL;
}

static void randread(const char *path, uint64_t mib, double secs, int threads)
{
	struct rr r[64];
	pthread_t t[64];
	int fd = open(path, O_RDONLY | O_DIRECT);
	uint64_t ops = 0;

	if (fd < 0)
		die(path);
	if (threads < 1 || threads > 64)
		threads = 1;
	double t0 = now();
	for (int i = 0; i < threads; i++) {
		r[i] = (struct rr){ .fd = fd, .blocks = mib * 256, .seed = 0x9e3779b97f4a7c15ull + i,
				    .end = t0 + secs };
		if (pthread_create(&t[i], NULL, rand_worker, &r[i]))
			die("pthread_create");
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		ops += r[i].ops;
	}
	char name[32];
	snprintf(name, sizeof name, "randread-qd%d", threads);
	report(name, ops * 4096, ops, now() - t0);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "seqread"))
		sequential(argv[2], strtoull(argv[3], NULL, 0), 0);
	else if (argc >= 4 && !strcmp(argv[1], "seqwrite"))
		sequential(argv[2], strtoull(argv[3], NULL, 0), 1);
	else if (argc >= 6 && !strcmp(argv[1], "randread"))
		randread(argv[2], strtoull(argv[3], NULL, 0), atof(argv[4]), atoi(argv[5]));
	else {
		fprintf(stderr, "usage: blkbench seqread|seqwrite PATH MIB | randread PATH MIB SECONDS THREADS\n");
		return 2;
	}
	return 0;
}
