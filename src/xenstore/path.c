/* Path rules: which strings name a node, how relative paths are anchored in
 * the caller's home, and ancestor tests used by watches. */
#include "xenstore/xs-private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void xs_home_path(uint32_t domid, char out[XS_HOME_MAX])
{
	snprintf(out, XS_HOME_MAX, "/local/domain/%u", domid);
}

static bool path_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '-' || ch == '/' ||
	       ch == '_' || ch == '@';
}

/* An absolute path: "/" or "/a/b" with legal characters, no empty
 * component and no trailing slash. */
static bool path_abs_ok(const char *p)
{
	if (p[0] != '/')
		return false;
	if (p[1] == '\0')
		return true;
	for (const char *s = p; *s; s++) {
		if (!path_char_ok(*s))
			return false;
		if (s[0] == '/' && (s[1] == '/' || s[1] == '\0'))
			return false;
	}
	return true;
}

int xs_path_canonical(uint32_t domid, const char *in, char *out)
{
	size_t len = strnlen(in, XS_WIRE_ABS_PATH_MAX + 1);

	if (in[0] == '/') {
		if (len > XS_WIRE_ABS_PATH_MAX)
			return -EINVAL;
		memcpy(out, in, len + 1);
	} else {
		char home[XS_HOME_MAX];
		if (len == 0 || len > XS_WIRE_REL_PATH_MAX)
			return -EINVAL;
		xs_home_path(domid, home);
		size_t hl = strlen(home);
		/* home + '/' + 2048 chars stays well below the absolute limit */
		memcpy(out, home, hl);
		out[hl] = '/';
		memcpy(out + hl + 1, in, len + 1);
	}
	return path_abs_ok(out) ? 0 : -EINVAL;
}

bool xs_path_is_special(const char *p)
{
	return p[0] == '@';
}

/* True if p is ancestor itself or lies below it. */
bool xs_path_is_under(const char *ancestor, const char *p)
{
	size_t al = strlen(ancestor);

	if (ancestor[0] == '/' && ancestor[1] == '\0')
		return p[0] == '/';
	return strncmp(ancestor, p, al) == 0 && (p[al] == '\0' || p[al] == '/');
}

bool xs_path_parent(char *p)
{
	char *slash = strrchr(p, '/');

	if (!slash || (slash == p && p[1] == '\0'))
		return false;
	if (slash == p)
		slash[1] = '\0';        /* "/a" -> "/" */
	else
		*slash = '\0';
	return true;
}

const char *xs_path_basename(const char *p)
{
	const char *slash = strrchr(p, '/');

	return slash ? slash + 1 : p;
}
