/*
 * Domains: creation (VM, memory, hypervisor area, kernel), start, pause,
 * shutdown and destruction.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/builder.h"
#include "common/common.h"
#include "core/core-internal.h"

#define MAX_RAMDISK (1ull << 30)

_Static_assert(DOMAIN_MAX_GRANT_FRAMES == HV_GRANT_FRAMES, "grant frames fit the hv area");

static int fail(char *err, size_t len, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t len, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return rc;
}

static int read_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return fail(err, errlen, -errno, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || st.st_size < 0 || (uint64_t)st.st_size > MAX_RAMDISK) {
		close(fd);
		return fail(err, errlen, -EFBIG, "%s: unreadable or larger than 1 GiB", path);
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	if (!*buf) {
		close(fd);
		return fail(err, errlen, -ENOMEM, "out of memory reading %s", path);
	}
	size_t done = 0;
	while (done < *len) {
		ssize_t n = read(fd, *buf + done, *len - done);
		if (n <= 0) {
			free(*buf);
			close(fd);
			return fail(err, errlen, -EIO, "error reading %s", path);
		}
		done += (size_t)n;
	}
	close(fd);
	return 0;
}

static int alloc_memory(struct domain *d, char *err, size_t errlen)
{
	size_t ram_bytes = d->nr_pages * PAGE_SIZE;
	d->ram = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (d->ram == MAP_FAILED) {
		d->ram = NULL;
		return fail(err, errlen, -ENOMEM, "cannot allocate %zu MiB of guest memory",
			    ram_bytes >> 20);
	}
	d->hv = mmap(NULL, d->hvl.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (d->hv == MAP_FAILED) {
		d->hv = NULL;
		return fail(err, errlen, -ENOMEM, "cannot allocate the hypervisor area");
	}
	d->frames = calloc(d->nr_pages, sizeof *d->frames);
	if (!d->frames)
		return fail(err, errlen, -ENOMEM, "out of memory");
	int rc = kvm_add_memory(&d->kvm, 0, 0, d->ram, ram_bytes);
	if (!rc)
		rc = kvm_add_memory(&d->kvm, 1, HV_GPA_BASE, d->hv, d->hvl.size);
	if (rc)
		return fail(err, errlen, rc, "KVM memory slots: %s", strerror(-rc));
	return 0;
}

/* The toolstack's two rings: bound to "domain 0" (the daemon itself). */
static void alloc_toolstack_ports(struct domain *d)
{
	d->store_port = (uint32_t)evtchn_alloc_port(d, ECS_INTERDOMAIN, 0, 0);
	d->console_port = (uint32_t)evtchn_alloc_port(d, ECS_INTERDOMAIN, 0, 0);
}

static int build_kernel(struct domain *d, const struct domain_params *p,
			struct pv_build_result *res, char *err, size_t errlen)
{
	struct kimage img;
	uint8_t *owned = NULL;          /* a ramdisk read here from its path */
	const uint8_t *initrd = NULL;
	size_t initrd_len = 0;
	int rc;

	if (p->kernel_image)
		rc = kimage_load_mem(p->kernel_image, p->kernel_image_len, &img, err, errlen);
	else
		rc = kimage_load(p->kernel, &img, err, errlen);
	if (rc)
		return rc;
	if (p->kernel_image) {
		initrd = p->ramdisk_image;
		initrd_len = p->ramdisk_image ? p->ramdisk_image_len : 0;
	} else if (p->ramdisk && *p->ramdisk) {
		rc = read_file(p->ramdisk, &owned, &initrd_len, err, errlen);
		if (rc) {
			kimage_free(&img);
			return rc;
		}
		initrd = owned;
	}
	struct pv_build_params bp = {
		.domid = d->domid,
		.nr_vcpus = d->max_vcpus,
		.store_evtchn = d->store_port,
		.console_evtchn = d->console_port,
		.shared_info_maddr = d->shinfo_mfn << 12,
		.cmdline = p->cmdline,
		.initrd = initrd,
		.initrd_len = initrd_len,
	};
	rc = pv_build(&bp, &img, d->ram, d->nr_pages, res, err, errlen);
	free(owned);
	kimage_free(&img);
	return rc;
}

static int boot_vcpu0(struct domain *d, const struct pv_build_result *res, char *err, size_t errlen)
{
	struct vcpu_guest_context *c = calloc(1, sizeof *c);
	int rc;
	if (!c)
		return fail(err, errlen, -ENOMEM, "out of memory");
	c->flags = VGCF_IN_KERNEL | VGCF_ONLINE;
	c->user_regs.rip = res->entry;
	c->user_regs.rsp = res->stack;
	c->user_regs.rsi = res->start_info_va;
	c->user_regs.rflags = 0x200;
	c->kernel_ss = FLAT_KERNEL_SS;
	c->kernel_sp = res->stack;
	c->ctrlreg[3] = res->cr3;
	rc = mm_pin_initial(d, res->l4_mfn);
	if (!rc)
		rc = vcpu_load_context(d->vcpus[0], c);
	free(c);
	if (rc)
		return fail(err, errlen, rc, "cannot set up vCPU 0: %s", strerror(-rc));
	d->vcpus[0]->online = true;
	return 0;
}

/*
 * The daemon writes into the xenstore and console rings (replies, console
 * input): hold them as writable pages for the domain's life, so the guest
 * can never turn one into a page table and have us forge its entries.
 */
static int hold_toolstack_rings(struct domain *d)
{
	int rc = 0;
	pthread_mutex_lock(&d->lock);
	if (d->store_mfn)
		rc = mm_get_writable(d, d->store_mfn);
	if (!rc && d->console_mfn) {
		rc = mm_get_writable(d, d->console_mfn);
		if (rc && d->store_mfn)
			mm_put_writable(d, d->store_mfn);
	}
	d->rings_held = !rc;
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* Drop what the daemon held writable (after the vCPU threads stopped). */
static void release_held_frames(struct domain *d)
{
	if (!d->frames)
		return;
	for (unsigned i = 0; i < MAX_VCPUS; i++)
		if (d->vcpus[i] && d->vcpus[i]->vinfo_registered)
			mm_put_writable(d, d->vcpus[i]->vinfo_mfn);
	if (d->rings_held) {
		if (d->store_mfn)
			mm_put_writable(d, d->store_mfn);
		if (d->console_mfn)
			mm_put_writable(d, d->console_mfn);
		d->rings_held = false;
	}
}

static void domain_free(struct domain *d)
{
	for (unsigned i = 0; i < MAX_VCPUS; i++)
		vcpu_stop_thread(d->vcpus[i]);
	release_held_frames(d);
	dispatch_remove_domain(d);
	for (unsigned i = 0; i < MAX_VCPUS; i++)
		vcpu_destroy(d->vcpus[i]);
	kvm_close_vm(&d->kvm);
	if (d->ram)
		munmap(d->ram, d->nr_pages * PAGE_SIZE);
	if (d->hv)
		munmap(d->hv, d->hvl.size);
	free(d->frames);
	gnttab_free(d);
	pit_destroy(&d->pit);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->state_cond);
	pthread_mutex_destroy(&d->state_lock);
	free(d);
}

int domain_create(const struct domain_params *p, struct domain **out, char *err, size_t errlen)
{
	struct pv_build_result res;
	struct domain *d;
	pthread_condattr_t ca;
	int rc;

	unsigned max_vcpus = p->max_vcpus ? p->max_vcpus : p->vcpus;
	if (!p->kernel && !p->kernel_image)
		return fail(err, errlen, -EINVAL, "no kernel given");
	if (p->vcpus == 0 || max_vcpus < p->vcpus || max_vcpus > XEN_LEGACY_MAX_VCPUS)
		return fail(err, errlen, -EINVAL, "vcpus must be 1-%d", XEN_LEGACY_MAX_VCPUS);
	if (p->memory_mib < 16 || p->memory_mib * 1048576ull > HV_MAX_RAM)
		return fail(err, errlen, -EINVAL, "memory must be 16 MiB to %llu GiB",
			    HV_MAX_RAM >> 30);
	unsigned gframes = p->max_grant_frames ? p->max_grant_frames : DOMAIN_DEFAULT_GRANT_FRAMES;
	if (gframes > DOMAIN_MAX_GRANT_FRAMES)
		return fail(err, errlen, -EINVAL, "max_grant_frames must be 1-%d",
			    DOMAIN_MAX_GRANT_FRAMES);
	d = calloc(1, sizeof *d);
	if (!d)
		return fail(err, errlen, -ENOMEM, "out of memory");
	d->max_grant_frames = gframes;
	d->grant_version = 1;
	d->domid = p->domid;
	snprintf(d->name, sizeof d->name, "%s", p->name ? p->name : "domU");
	d->hooks = p->hooks;
	d->opaque = p->opaque;
	d->nr_pages = p->memory_mib * 256;
	d->max_vcpus = max_vcpus;
	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_init(&d->state_lock, NULL);
	pit_init(&d->pit);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->state_cond, &ca);
	pthread_condattr_destroy(&ca);
	d->kvm.vm_fd = d->kvm.kvm_fd = -1;

	rc = kvm_open_vm(&d->kvm);
	if (rc) {
		fail(err, errlen, rc, "/dev/kvm: %s", strerror(-rc));
		goto out;
	}
	rc = hv_layout_compute(&d->hvl, d->nr_pages, max_vcpus);
	if (rc) {
		fail(err, errlen, rc, "cannot lay out the hypervisor area");
		goto out;
	}
	rc = alloc_memory(d, err, errlen);
	if (rc)
		goto out;
	hv_area_init(&d->hvl, d->hv, d->nr_pages);
	d->shinfo = (struct shared_info *)(d->hv + d->hvl.shared_info);
	d->shinfo_mfn = (HV_GPA_BASE + d->hvl.shared_info) >> 12;
	for (unsigned i = 0; i < XEN_LEGACY_MAX_VCPUS; i++)
		d->shinfo->vcpu_info[i].evtchn_upcall_mask = 1;
	d->shinfo->arch.max_pfn = d->nr_pages;
	time_set_wallclock(d);
	alloc_toolstack_ports(d);
	for (unsigned i = 0; i < max_vcpus; i++) {
		rc = vcpu_create(d, i);
		if (rc) {
			fail(err, errlen, rc, "cannot create vCPU %u: %s", i, strerror(-rc));
			goto out;
		}
	}
	rc = dispatch_add_domain(p->dispatcher, d, p->pool);
	if (rc) {
		fail(err, errlen, rc, "cannot add the domain to the scheduler: %s", strerror(-rc));
		goto out;
	}
	rc = build_kernel(d, p, &res, err, errlen);
	if (rc)
		goto out;
	d->store_mfn = res.store_mfn;
	d->console_mfn = res.console_mfn;
	rc = hold_toolstack_rings(d);
	if (rc) {
		fail(err, errlen, rc, "the toolstack's ring frames are not plain RAM");
		goto out;
	}
	rc = boot_vcpu0(d, &res, err, errlen);
	if (rc)
		goto out;
	*out = d;
	return 0;
out:
	domain_free(d);
	return rc;
}

int domain_start(struct domain *d)
{
	for (unsigned i = 0; i < d->max_vcpus; i++) {
		int rc = vcpu_start_thread(d->vcpus[i]);
		if (rc)
			return rc;
	}
	return 0;
}

void domain_kill(struct domain *d, unsigned reason)
{
	bool notify = false;
	pthread_mutex_lock(&d->state_lock);
	if (!d->shut_down) {
		d->shut_down = true;
		d->shutdown_reason = reason;
		notify = true;
	}
	atomic_store(&d->dying, true);
	pthread_cond_broadcast(&d->state_cond);
	pthread_mutex_unlock(&d->state_lock);
	for (unsigned i = 0; i < d->max_vcpus; i++)
		if (d->vcpus[i])
			vcpu_kick(d->vcpus[i]);
	if (notify && d->hooks && d->hooks->shutdown)
		d->hooks->shutdown(d->opaque, d, reason);
}

void domain_destroy(struct domain *d)
{
	if (!d)
		return;
	if (!d->shut_down)
		domain_kill(d, SHUTDOWN_poweroff);
	atomic_store(&d->dying, true);
	domain_free(d);
}

void domain_pause(struct domain *d)
{
	atomic_store(&d->paused, true);
	for (unsigned i = 0; i < d->max_vcpus; i++)
		if (d->vcpus[i])
			vcpu_kick(d->vcpus[i]);
}

void domain_unpause(struct domain *d)
{
	pthread_mutex_lock(&d->state_lock);
	atomic_store(&d->paused, false);
	pthread_cond_broadcast(&d->state_cond);
	pthread_mutex_unlock(&d->state_lock);
	for (unsigned i = 0; i < d->max_vcpus; i++)
		if (d->vcpus[i])
			vcpu_wake(d->vcpus[i]);
}

int domain_wait_shutdown(struct domain *d, int timeout_ms)
{
	struct timespec ts;
	int rc = 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (timeout_ms >= 0) {
		ts.tv_sec += timeout_ms / 1000;
		ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&d->state_lock);
	while (!d->shut_down && rc == 0) {
		if (timeout_ms >= 0)
			rc = pthread_cond_timedwait(&d->state_cond, &d->state_lock, &ts);
		else
			rc = pthread_cond_wait(&d->state_cond, &d->state_lock);
	}
	int ret = d->shut_down ? (int)d->shutdown_reason : -ETIMEDOUT;
	pthread_mutex_unlock(&d->state_lock);
	return ret;
}

uint16_t domain_id(const struct domain *d) { return d->domid; }
const char *domain_name(const struct domain *d) { return d->name; }
uint32_t domain_store_port(const struct domain *d) { return d->store_port; }
uint32_t domain_console_port(const struct domain *d) { return d->console_port; }

void *domain_store_ring(struct domain *d)
{
	return d->store_mfn ? domain_frame_ptr(d, d->store_mfn) : NULL;
}

void *domain_console_ring(struct domain *d)
{
	return d->console_mfn ? domain_frame_ptr(d, d->console_mfn) : NULL;
}

int domain_notify(struct domain *d, uint32_t port)
{
	if (port == 0 || port >= NR_EVTCHN)
		return -EINVAL;
	evtchn_set_pending(d, port);
	return 0;
}

void domain_get_info(struct domain *d, struct domain_info *info)
{
	memset(info, 0, sizeof *info);
	info->memory_kib = d->nr_pages * 4;
	info->max_vcpus = d->max_vcpus;
	bool all_blocked = true;
	for (unsigned i = 0; i < d->max_vcpus; i++) {
		struct vcpu *v = d->vcpus[i];
		if (!v)
			continue;
		if (v->online) {
			info->vcpus_online++;
			if (!v->blocked)
				all_blocked = false;
		}
		info->cpu_time_ns += v->cpu_time_ns;
	}
	info->blocked = all_blocked && info->vcpus_online;
	info->shutdown = d->shut_down;
	info->shutdown_reason = d->shutdown_reason;
	info->paused = atomic_load(&d->paused);
}
