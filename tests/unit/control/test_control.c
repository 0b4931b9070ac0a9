/*
 * Unit tests for src/control: the kxen-ctl/1 encoder and incremental
 * decoder, their limits, and the strict number parsing the daemon relies
 * on to refuse bad input from clients.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/control.h"

/* Feeds all of text; expects exactly one message using all bytes. */
static int decode_all(const char *text, size_t len, bool is_request, struct ctl_msg *out,
		      struct ctl_parser *p)
{
	size_t used = 0;

	ctl_parser_init(p, is_request);
	int rc = ctl_parser_feed(p, text, len, &used, out);
	if (rc == 1)
		assert_int_equal(used, len);
	return rc;
}

static void test_encode_request(void **state)
{
	struct ctl_msg m;
	char *buf;
	size_t len;

	(void)state;
	ctl_msg_init(&m);
	assert_int_equal(ctl_msg_set_head(&m, "create"), 0);
	assert_int_equal(ctl_msg_add(&m, "name", "web"), 0);
	assert_int_equal(ctl_msg_addf(&m, "memory", "%d", 512), 0);
	assert_int_equal(ctl_msg_add(&m, "cmdline", "root=/dev/xvda1 console=hvc0 a=b"), 0);
	assert_int_equal(ctl_msg_encode(&m, true, &buf, &len), 0);
	assert_string_equal(buf, "kxen-ctl/1 create\nname=web\nmemory=512\n"
			    "cmdline=root=/dev/xvda1 console=hvc0 a=b\n\n");
	assert_int_equal(len, strlen(buf));
	free(buf);
	ctl_msg_dispose(&m);
}

static void test_roundtrip(void **state)
{
	struct ctl_msg m, out;
	struct ctl_parser p;
	char *buf;
	size_t len;

	(void)state;
	ctl_msg_init(&m);
	ctl_msg_set_head(&m, "list");
	ctl_msg_add(&m, "dom", "web");
	ctl_msg_add(&m, "empty", "");
	ctl_msg_add(&m, "eq", "a=b=c");
	assert_int_equal(ctl_msg_encode(&m, true, &buf, &len), 0);
	assert_int_equal(decode_all(buf, len, true, &out, &p), 1);
	assert_string_equal(out.head, "list");
	assert_int_equal(out.nr_fields, 3);
	assert_string_equal(ctl_msg_get(&out, "dom"), "web");
	assert_string_equal(ctl_msg_get(&out, "empty"), "");
	assert_string_equal(ctl_msg_get(&out, "eq"), "a=b=c");
	assert_null(ctl_msg_get(&out, "missing"));
	free(buf);
	ctl_msg_dispose(&out);
	ctl_msg_dispose(&m);
	ctl_parser_dispose(&p);
}

static void test_reply_records(void **state)
{
	static const char text[] = "ok\nname=a\ndomid=1\nname=b\ndomid=2\n\n";
	struct ctl_msg out;
	struct ctl_parser p;

	(void)state;
	assert_int_equal(decode_all(text, sizeof text - 1, false, &out, &p), 1);
	assert_string_equal(out.head, "ok");
	assert_int_equal(out.nr_fields, 4);
	assert_string_equal(out.fields[2].key, "name");
	assert_string_equal(out.fields[2].val, "b");
	ctl_msg_dispose(&out);
	ctl_parser_dispose(&p);
}

static void test_error_reply(void **state)
{
	static const char text[] = "error no such domain: x\n\n";
	struct ctl_msg m, out;
	struct ctl_parser p;
	char *buf;
	size_t len;

	(void)state;
	assert_int_equal(decode_all(text, sizeof text - 1, false, &out, &p), 1);
	assert_string_equal(out.head, "error no such domain: x");
	ctl_msg_dispose(&out);
	/* Control characters in an error text cannot break the framing. */
	ctl_msg_init(&m);
	assert_int_equal(ctl_msg_set_error(&m, "bad %s", "a\nb\rc"), 0);
	assert_string_equal(m.head, "error bad a b c");
	assert_int_equal(ctl_msg_encode(&m, false, &buf, &len), 0);
	assert_string_equal(buf, "error bad a b c\n\n");
	free(buf);
	ctl_msg_dispose(&m);
	ctl_parser_dispose(&p);
}

/* Byte by byte gives the same message; the bytes after it are left. */
static void test_incremental_and_trailing(void **state)
{
	static const char text[] = "ok\ndomid=3\n\nGUEST OUTPUT";
	struct ctl_parser p;
	struct ctl_msg out;
	size_t used, i;
	int rc = 0;

	(void)state;
	ctl_parser_init(&p, false);
	for (i = 0; i < sizeof text - 1; i++) {
		rc = ctl_parser_feed(&p, text + i, 1, &used, &out);
		assert_int_equal(used, 1);
		if (rc)
			break;
	}
	assert_int_equal(rc, 1);
	assert_int_equal(i + 1, strlen("ok\ndomid=3\n\n"));
	ctl_msg_dispose(&out);
	ctl_parser_init(&p, false);
	assert_int_equal(ctl_parser_feed(&p, text, sizeof text - 1, &used, &out), 1);
	assert_string_equal(text + used, "GUEST OUTPUT");
	ctl_msg_dispose(&out);
	ctl_parser_dispose(&p);
}

/* Two requests in one buffer come out one after the other. */
static void test_pipelined(void **state)
{
	static const char text[] = "kxen-ctl/1 list\n\nkxen-ctl/1 destroy\ndom=1\n\n";
	struct ctl_parser p;
	struct ctl_msg out;
	size_t used;

	(void)state;
	ctl_parser_init(&p, true);
	assert_int_equal(ctl_parser_feed(&p, text, sizeof text - 1, &used, &out), 1);
	assert_string_equal(out.head, "list");
	ctl_msg_dispose(&out);
	assert_int_equal(ctl_parser_feed(&p, text + used, sizeof text - 1 - used, &used, &out), 1);
	assert_string_equal(out.head, "destroy");
	assert_string_equal(ctl_msg_get(&out, "dom"), "1");
	ctl_msg_dispose(&out);
	ctl_parser_dispose(&p);
}

static int decode_rc(const char *text, bool is_request)
{
	struct ctl_parser p;
	struct ctl_msg out;
	int rc = decode_all(text, strlen(text), is_request, &out, &p);
	if (rc == 1)
		ctl_msg_dispose(&out);
	ctl_parser_dispose(&p);
	return rc;
}

static void test_bad_requests(void **state)
{
	(void)state;
	assert_int_equal(decode_rc("kxen-ctl/2 list\n\n", true), -EPROTONOSUPPORT);
	assert_int_equal(decode_rc("kxen-ctl/01 list\n\n", true), -EPROTO);
	assert_int_equal(decode_rc("kxen-ctl/1\n\n", true), -EPROTO);
	assert_int_equal(decode_rc("kxen-ctl/1 \n\n", true), -EPROTO);
	assert_int_equal(decode_rc("kxen-ctl/1 LIST\n\n", true), -EPROTO);
	assert_int_equal(decode_rc("kxen-ctl/1 list now\n\n", true), -EPROTO);
	assert_int_equal(decode_rc("GET / HTTP/1.0\n\n", true), -EPROTO);
	assert_int_equal(decode_rc("\n", true), -EPROTO);
	assert_int_equal(decode_rc("kxen-ctl/1 list\nnoequals\n\n", true), -EPROTO);
	assert_int_equal(decode_rc("kxen-ctl/1 list\nBad=1\n\n", true), -EPROTO);
	assert_int_equal(decode_rc("kxen-ctl/1 list\n=1\n\n", true), -EPROTO);
	assert_int_equal(decode_rc("kxen-ctl/1 list\r\n\r\n", true), -EPROTO);
	assert_int_equal(decode_rc("maybe\n\n", false), -EPROTO);
	/* NUL bytes are refused wherever they appear. */
	struct ctl_parser p;
	struct ctl_msg out;
	size_t used;
	ctl_parser_init(&p, true);
	assert_int_equal(ctl_parser_feed(&p, "kxen-ctl/1 li\0st\n\n", 18, &used, &out), -EPROTO);
	ctl_parser_dispose(&p);
	/* Incomplete input asks for more. */
	assert_int_equal(decode_rc("kxen-ctl/1 list\ndom=1\n", true), 0);
}

static void test_limits(void **state)
{
	char *big = malloc(CTL_MAX_LINE + 64);
	struct ctl_msg m;

	(void)state;
	assert_non_null(big);
	int n = snprintf(big, CTL_MAX_LINE + 64, "kxen-ctl/1 list\nk=");
	memset(big + n, 'a', CTL_MAX_LINE);
	strcpy(big + n + CTL_MAX_LINE, "\n\n");
	assert_int_equal(decode_rc(big, true), -E2BIG);
	/* Exactly the limit is fine. */
	strcpy(big + n + CTL_MAX_LINE - 2, "\n\n");
	assert_int_equal(decode_rc(big, true), 1);
	free(big);

	ctl_msg_init(&m);
	ctl_msg_set_head(&m, "list");
	assert_int_equal(ctl_msg_add(&m, "k", "a\nb"), -EINVAL);
	assert_int_equal(ctl_msg_add(&m, "K", "v"), -EINVAL);
	assert_int_equal(ctl_msg_add(&m, "", "v"), -EINVAL);
	assert_int_equal(ctl_msg_add(&m, "a-much-too-long-key-name-over-31", "v"), -EINVAL);
	for (int i = 0; i < CTL_MAX_FIELDS; i++)
		assert_int_equal(ctl_msg_add(&m, "k", "v"), 0);
	assert_int_equal(ctl_msg_add(&m, "k", "v"), -E2BIG);
	assert_int_equal(ctl_msg_set_head(&m, "a\nb"), -EINVAL);
	assert_int_equal(ctl_msg_set_head(&m, ""), -EINVAL);
	ctl_msg_dispose(&m);
}

static void test_too_many_fields(void **state)
{
	size_t cap = 32 + (CTL_MAX_FIELDS + 1) * 4;
	char *text = malloc(cap), *p = text;

	(void)state;
	assert_non_null(text);
	p += sprintf(p, "kxen-ctl/1 list\n");
	for (int i = 0; i <= CTL_MAX_FIELDS; i++)
		p += sprintf(p, "k=\n");
	strcpy(p, "\n");
	assert_int_equal(decode_rc(text, true), -E2BIG);
	free(text);
}

static void test_parse_u64(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(ctl_parse_u64("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(ctl_parse_u64("512", 1, 1024, &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(ctl_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(ctl_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(ctl_parse_u64("2048", 1, 1024, &v), -ERANGE);
	assert_int_equal(ctl_parse_u64("0", 1, 1024, &v), -ERANGE);
	assert_int_equal(ctl_parse_u64("", 0, 10, &v), -EINVAL);
	assert_int_equal(ctl_parse_u64("-1", 0, 10, &v), -EINVAL);
	assert_int_equal(ctl_parse_u64("+1", 0, 10, &v), -EINVAL);
	assert_int_equal(ctl_parse_u64(" 1", 0, 10, &v), -EINVAL);
	assert_int_equal(ctl_parse_u64("1 ", 0, 10, &v), -EINVAL);
	assert_int_equal(ctl_parse_u64("0x10", 0, 100, &v), -EINVAL);
	assert_int_equal(ctl_parse_u64("010", 0, 100, &v), -EINVAL);
	assert_int_equal(ctl_parse_u64("1k", 0, 100, &v), -EINVAL);
	assert_int_equal(ctl_parse_u64(NULL, 0, 100, &v), -EINVAL);

	bool b;
	assert_int_equal(ctl_parse_bool("1", &b), 0);
	assert_true(b);
	assert_int_equal(ctl_parse_bool("0", &b), 0);
	assert_false(b);
	assert_int_equal(ctl_parse_bool("yes", &b), -EINVAL);
	assert_int_equal(ctl_parse_bool("", &b), -EINVAL);
}

/* ctl_send/ctl_recv over a socketpair, with a raw tail after the reply. */
static void test_socket_io(void **state)
{
	int sv[2];
	struct ctl_msg m, out;
	char extra[64], err[128];
	size_t extra_len;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ctl_msg_init(&m);
	ctl_msg_set_head(&m, "ok");
	ctl_msg_add(&m, "domid", "7");
	assert_int_equal(ctl_send(sv[0], &m, false), 0);
	assert_int_equal(ctl_write_all(sv[0], "tail", 4), 0);
	close(sv[0]);
	assert_int_equal(ctl_recv(sv[1], false, &out, extra, sizeof extra, &extra_len,
				  err, sizeof err), 0);
	assert_string_equal(ctl_msg_get(&out, "domid"), "7");
	assert_int_equal(extra_len, 4);
	assert_memory_equal(extra, "tail", 4);
	ctl_msg_dispose(&out);
	/* The peer is gone now: a clear error, not a hang. */
	assert_int_equal(ctl_recv(sv[1], false, &out, NULL, 0, &extra_len, err, sizeof err),
			 -ECONNRESET);
	close(sv[1]);
	ctl_msg_dispose(&m);
}

static void test_socket_path(void **state)
{
	char buf[256], longdir[200];

	(void)state;
	setenv("KXEN_RUNDIR", "/tmp/x", 1);
	assert_int_equal(ctl_socket_path(buf, sizeof buf), 0);
	assert_string_equal(buf, "/tmp/x/kxend.sock");
	unsetenv("KXEN_RUNDIR");
	assert_int_equal(ctl_socket_path(buf, sizeof buf), 0);
	assert_string_equal(buf, "/run/kxen/kxend.sock");
	memset(longdir, 'd', sizeof longdir - 1);
	longdir[0] = '/';
	longdir[sizeof longdir - 1] = 0;
	setenv("KXEN_RUNDIR", longdir, 1);
	assert_int_equal(ctl_socket_path(buf, sizeof buf), -ENAMETOOLONG);
	unsetenv("KXEN_RUNDIR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_request),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_reply_records),
		cmocka_unit_test(test_error_reply),
		cmocka_unit_test(test_incremental_and_trailing),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_too_many_fields),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_socket_io),
		cmocka_unit_test(test_socket_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
