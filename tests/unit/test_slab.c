/* The slab (core/slab.c) that holds TCBs and TIME-WAIT records: objects
 * come zeroed and distinct, a chunk's index finds it again, chunks are
 * given back when empty (one spare kept), the table of chunks shrinks
 * with them, and MAX bounds the chunks.  Random churn is checked against
 * a plain array of what each object should hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core.h"
#include "testrng.h"

#define N 20000
#define PER 64
#define SIZE 100 /* rounded to 104 */

static void *obj[N];
static uint32_t idx[N];

static void get(struct tp_slab *sl, unsigned i)
{
	unsigned char zero[SIZE] = {0};
	obj[i] = tp_slab_get(sl, &idx[i]);
	assert_non_null(obj[i]);
	assert_memory_equal(obj[i], zero, SIZE);
	assert_true(idx[i] < sl->ntab);
	memset(obj[i], (int)(i & 0xff), SIZE); /* (the slab's bytes are the caller's) */
}

static void put(struct tp_slab *sl, unsigned i)
{
	for (unsigned k = 0; k < SIZE; k++)
		assert_int_equal(((unsigned char *)obj[i])[k], i & 0xff);
	tp_slab_put(sl, obj[i], idx[i]);
	obj[i] = NULL;
}

/* everything freed: one spare chunk and a table of the least size */
static void check_empty(const struct tp_slab *sl)
{
	assert_int_equal(sl->n, 0);
	assert_int_equal(sl->nchunks, 1);
	assert_int_equal(sl->ntab, 0);
	assert_true(tp_slab_bytes(sl) <= 32 + PER * 104 + 4 * sizeof(void *));
}

static void test_fill_and_empty(void **state)
{
	struct tp_slab sl;
	(void)state;
	tp_slab_init(&sl, SIZE, PER, 1u << 15);
	for (int round = 0; round < 2; round++) {
		for (unsigned i = 0; i < N; i++)
			get(&sl, i);
		assert_int_equal(sl.n, N);
		assert_int_equal(sl.nchunks, (N + PER - 1) / PER);
		/* the oldest first, as TIME-WAIT records expire */
		for (unsigned i = 0; i < N; i++)
			put(&sl, i);
		check_empty(&sl);
	}
	tp_slab_fini(&sl);
}

static void test_random_churn(void **state)
{
	struct tp_slab sl;
	unsigned live = 0;
	(void)state;
	tp_slab_init(&sl, SIZE, PER, 1u << 15);
	for (unsigned step = 0; step < 400000; step++) {
		unsigned i = (unsigned)(xorshift() % N);
		if (obj[i]) {
			put(&sl, i);
			live--;
		} else {
			get(&sl, i);
			live++;
		}
		assert_int_equal(sl.n, live);
		/* every chunk but the spare holds an object, or was a partial
		 * one still on the list: never more than the objects need
		 * plus what fragmentation leaves */
		assert_true(sl.nchunks <= live + 1);
	}
	for (unsigned i = 0; i < N; i++)
		if (obj[i])
			put(&sl, i);
	check_empty(&sl);
	tp_slab_fini(&sl);
}

/* MAX chunks at most: then get fails, and works again once one is free */
static void test_bounded(void **state)
{
	struct tp_slab sl;
	uint32_t k;
	(void)state;
	tp_slab_init(&sl, SIZE, PER, 3);
	for (unsigned i = 0; i < 3 * PER; i++)
		get(&sl, i);
	assert_null(tp_slab_get(&sl, &k));
	put(&sl, 5);
	get(&sl, 5);
	for (unsigned i = 0; i < 3 * PER; i++)
		put(&sl, i);
	check_empty(&sl);
	tp_slab_fini(&sl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fill_and_empty),
		cmocka_unit_test(test_random_churn),
		cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
