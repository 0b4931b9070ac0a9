/* Node permissions: who may read or write a node, and the "r5"/"w0" text
 * form used on the wire. */
#include "xenstore/xs-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The owner may do everything; others get their own entry if listed, else
 * the default carried by entry 0. */
uint32_t xs_perm_for(const struct xs_node *n, uint32_t domid, bool privileged)
{
	if (privileged || n->perms[0].domid == domid)
		return XS_PERM_BOTH;
	for (uint32_t i = 1; i < n->nperms; i++)
		if (n->perms[i].domid == domid)
			return n->perms[i].perm;
	return n->perms[0].perm;
}

bool xs_perm_is_owner(const struct xs_node *n, uint32_t domid, bool privileged)
{
	return privileged || n->perms[0].domid == domid;
}

static int perm_from_char(char ch)
{
	switch (ch) {
	case 'n': return XS_PERM_NONE;
	case 'r': return XS_PERM_READ;
	case 'w': return XS_PERM_WRITE;
	case 'b': return XS_PERM_BOTH;
	default: return -EINVAL;
	}
}

/* One entry: a letter then a decimal domain id below 65536. */
static int perm_parse_one(const char *s, struct xs_perm *out)
{
	int perm = perm_from_char(s[0]);
	uint32_t id = 0;

	if (perm < 0 || s[1] == '\0')
		return -EINVAL;
	for (s++; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		id = id * 10 + (uint32_t)(*s - '0');
		if (id > 0xffff)
			return -EINVAL;
	}
	out->domid = id;
	out->perm = (uint32_t)perm;
	return 0;
}

int xs_perms_parse(const char *buf, uint32_t len, struct xs_perm **out,
		   uint32_t *n)
{
	uint32_t count = 0;

	*out = NULL;
	*n = 0;
	if (len == 0 || buf[len - 1] != '\0')
		return -EINVAL;
	for (uint32_t i = 0; i < len; i++)
		count += buf[i] == '\0';
	struct xs_perm *p = calloc(count, sizeof(*p));
	if (!p)
		return -ENOMEM;
	const char *s = buf;
	for (uint32_t i = 0; i < count; i++) {
		int rc = perm_parse_one(s, &p[i]);
		if (rc) {
			free(p);
			return rc;
		}
		s += strlen(s) + 1;
	}
	*out = p;
	*n = count;
	return 0;
}

int xs_perms_format(const struct xs_perm *p, uint32_t n, char *buf, uint32_t cap)
{
	static const char letters[] = "nrwb";
	uint32_t used = 0;

	for (uint32_t i = 0; i < n; i++) {
		char one[16];
		int l = snprintf(one, sizeof(one), "%c%u", letters[p[i].perm & 3],
				 p[i].domid);
		if (used + (uint32_t)l + 1 > cap)
			return -E2BIG;
		memcpy(buf + used, one, (size_t)l + 1);
		used += (uint32_t)l + 1;
	}
	return (int)used;
}
