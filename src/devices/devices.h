/*
 * Device backends the toolstack side serves: the PV console ring for now
 * (block and network backends are their own issue).
 */
#ifndef KXEN_DEVICES_H
#define KXEN_DEVICES_H

#include <stddef.h>
#include <stdint.h>

/* Copy guest console output out of a xencons_interface page (hostile:
 * indices are checked).  Returns bytes copied (0..max), or -EINVAL if the
 * ring's indices are insane.  Advances out_cons. */
int console_ring_read(void *page, char *buf, size_t max);
/* Queue input for the guest; returns bytes accepted. */
size_t console_ring_write(void *page, const char *buf, size_t len);

#endif
