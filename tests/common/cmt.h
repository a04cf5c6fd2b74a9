/* One registration for a cmocka file whose tests share one fixture:
 *
 *     return CMT_RUN(setup, teardown, test_a, test_b, test_c);
 *
 * runs each test under its own name (taken from the list's text) with the
 * fixture, instead of a table whose every line repeats the fixture. */
#ifndef TAPIR_TESTS_CMT_H
#define TAPIR_TESTS_CMT_H

#include <stdlib.h>
#include <string.h>

static inline int cmt_run(const char *names, const CMUnitTestFunction *fns, size_t n,
			  CMFixtureFunction setup, CMFixtureFunction teardown)
{
	struct CMUnitTest *t = calloc(n, sizeof(*t));
	char *copy = strdup(names), *save = NULL;
	char *tok = strtok_r(copy, ", \t\n", &save);
	int r;
	for (size_t i = 0; i < n && tok; i++, tok = strtok_r(NULL, ", \t\n", &save))
		t[i] = (struct CMUnitTest){.name = tok, .test_func = fns[i], .setup_func = setup,
					   .teardown_func = teardown};
	r = _cmocka_run_group_tests("tests", t, n, NULL, NULL);
	free(t);
	free(copy);
	return r;
}

#define CMT_RUN(setup, teardown, ...)                                                         \
	cmt_run(#__VA_ARGS__, (const CMUnitTestFunction[]){__VA_ARGS__},                        \
		sizeof((const CMUnitTestFunction[]){__VA_ARGS__}) / sizeof(CMUnitTestFunction), \
		setup, teardown)

#endif
