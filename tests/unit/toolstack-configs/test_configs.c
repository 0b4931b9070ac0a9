/*
 * Walks tests/configs/: every NAME.cfg must parse and render exactly
 * NAME.json, with exactly the warnings in NAME.warn (none if absent); every
 * NAME.bad.cfg must fail with exactly the message in NAME.err.  The expected
 * files are written by hand.  The directory is $KXEN_TEST_CONFIGS, else
 * tests/configs relative to the working directory (tests/run.sh runs from
 * the repository root).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "toolstack/toolstack.h"

static const char *configs_dir(void)
{
	const char *env = getenv("KXEN_TEST_CONFIGS");

	return env && *env ? env : "tests/configs";
}

/* Whole file, or NULL if it does not exist. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	int c;

	if (!f)
		return NULL;
	mem = open_memstream(&buf, &len);
	assert_non_null(mem);
	while ((c = fgetc(f)) != EOF)
		fputc(c, mem);
	fclose(mem);
	fclose(f);
	return buf;
}

static char *sibling(const char *cfg_name, const char *strip, const char *ext)
{
	size_t base = strlen(cfg_name) - strlen(strip);
	char *path;

	assert_true(asprintf(&path, "%s/%.*s%s", configs_dir(), (int)base, cfg_name, ext) > 0);
	return path;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static void expect_text(const char *what, const char *expected, const char *actual)
{
	if (strcmp(expected, actual)) {
		print_error("%s differs.\n--- expected\n%s--- actual\n%s---\n", what, expected,
			    actual);
		fail();
	}
}

static char *parse_named(const char *name, struct domain_config *dc, struct ts_error *err,
			 int *rc)
{
	char *path, *text;

	assert_true(asprintf(&path, "%s/%s", configs_dir(), name) > 0);
	text = slurp(path);
	free(path);
	assert_non_null(text);
	domain_config_init(dc);
	/* the bare name in messages keeps the expected files location-free */
	*rc = domain_config_parse_string(dc, text, name, NULL, 0, err);
	return text;
}

static void test_good_config(void **state)
{
	const char *name = *state;
	char *json_path = sibling(name, ".cfg", ".json");
	char *warn_path = sibling(name, ".cfg", ".warn");
	char *expected_json = slurp(json_path), *expected_warn = slurp(warn_path);
	struct domain_config dc;
	struct ts_error err;
	char msg[1024], *json = NULL, *warnings = NULL;
	size_t wlen;
	int rc;
	char *text = parse_named(name, &dc, &err, &rc);

	if (rc < 0) {
		ts_error_format(&err, msg, sizeof(msg));
		print_error("%s: unexpected error: %s\n", name, msg);
		fail();
	}
	if (!expected_json) {
		print_error("%s has no expected output %s\n", name, json_path);
		fail();
	}
	assert_int_equal(domain_config_to_json(&dc, &json), 0);
	expect_text("JSON", expected_json, json);

	FILE *w = open_memstream(&warnings, &wlen);

	for (size_t i = 0; i < dc.nr_warnings; i++)
		fprintf(w, "%s\n", dc.warnings[i]);
	fclose(w);
	expect_text("warnings", expected_warn ? expected_warn : "", warnings);

	free(warnings);
	free(json);
	free(text);
	free(expected_json);
	free(expected_warn);
	free(json_path);
	free(warn_path);
	domain_config_dispose(&dc);
}

static void test_bad_config(void **state)
{
	const char *name = *state;
	char *err_path = sibling(name, ".bad.cfg", ".err");
	char *expected = slurp(err_path);
	struct domain_config dc;
	struct ts_error err;
	char msg[1100];
	int rc;
	char *text = parse_named(name, &dc, &err, &rc);

	if (!expected) {
		print_error("%s has no expected error %s\n", name, err_path);
		fail();
	}
	if (rc == 0) {
		print_error("%s parsed but should fail with: %s", name, expected);
		fail();
	}
	ts_error_format(&err, msg, sizeof(msg));
	strcat(msg, "\n");
	expect_text("error", expected, msg);
	/* a failed parse leaves nothing behind */
	assert_null(dc.name);
	assert_int_equal(dc.nr_disks, 0);
	free(text);
	free(expected);
	free(err_path);
	domain_config_dispose(&dc);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct CMUnitTest *)a)->name, ((const struct CMUnitTest *)b)->name);
}

int main(void)
{
	struct CMUnitTest *tests = NULL;
	size_t n = 0, bad = 0;
	struct dirent *de;
	DIR *d = opendir(configs_dir());
	int rc;

	if (!d) {
		fprintf(stderr, "cannot open %s (run from the repository root or set "
			"KXEN_TEST_CONFIGS)\n[  FAILED  ] 1 test(s)\n", configs_dir());
		return 1;
	}
	while ((de = readdir(d))) {
		if (!ends_with(de->d_name, ".cfg"))
			continue;
		tests = realloc(tests, (n + 1) * sizeof(*tests));
		if (!tests)
			return 1;
		bool is_bad = ends_with(de->d_name, ".bad.cfg");
		struct CMUnitTest t = {
			.name = strdup(de->d_name),
			.test_func = is_bad ? test_bad_config : test_good_config,
		};

		t.initial_state = (void *)t.name;
		tests[n++] = t;
		bad += is_bad;
	}
	closedir(d);
	/* an empty or half-missing directory must not pass silently */
	if (n - bad < 8 || bad < 20) {
		fprintf(stderr, "%s holds only %zu good and %zu bad configs\n"
			"[  FAILED  ] 1 test(s)\n", configs_dir(), n - bad, bad);
		return 1;
	}
	qsort(tests, n, sizeof(*tests), by_name);
	rc = _cmocka_run_group_tests("configs", tests, n, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		free((void *)tests[i].name);
	free(tests);
	return rc;
}
