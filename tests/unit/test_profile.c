/* OS profiles (include/tapir/profile.h, core/profile.c): every field of
 * every table, names, and the stack option (struct tapir_config). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core.h"
#include "frames.h"

/* Every field a test compares, once */
#define PROFILE_FIELDS(X)                                                                      \
	X(insecure_syn) X(insecure_rst) X(drop_synfin) X(icmp_may_rst) X(icmp_bsd_hard)      \
	X(fin_on_ack) X(rst_closing_reset) X(tw_ack_segments) X(old_fin_ack) X(rcvbuf_mss)    \
	X(listen_synack_drop) X(options_bsd) X(keepidle_s) X(keepintvl_s) X(keepcnt) X(rcvbuf) \
	X(sndbuf) X(initial_window) X(rto_initial_us) X(rto_min_us) X(rto_slop_us)             \
	X(syn_retries) X(delack_us) X(quickack) X(rack) X(tlp) X(prr) X(fastopen) X(keepinit_s)    \
	X(uto_keepalive)

static void check_table(const struct tapir_profile *want)
{
	const struct tapir_profile *p = tapir_profile_get(want->id);
	assert_non_null(p);
	assert_int_equal(p->id, want->id);
#define CHECK_FIELD(f) assert_int_equal(p->f, want->f);
	PROFILE_FIELDS(CHECK_FIELD)
#undef CHECK_FIELD
}

/* What each table must hold: rfc is today's defaults, the RFC reading (0
 * in every FreeBSD flag); linux and freebsd differ where the systems do */
static const struct tapir_profile want_tables[] = {
	{.id = TAPIR_PROFILE_RFC, .icmp_may_rst = 1, .keepidle_s = 7200, .keepintvl_s = 75,
	 .keepcnt = 9, .rcvbuf = 65535, .sndbuf = 131072, .initial_window = 10,
	 .rto_initial_us = TAPIR_SEC(1), .rto_min_us = TAPIR_MS(200), .syn_retries = 6,
	 .delack_us = TAPIR_MS(40), .fastopen = 3},
	{.id = TAPIR_PROFILE_LINUX, .icmp_may_rst = 1, .rack = 1, .tlp = 1, .prr = 1, .keepidle_s = 7200, .keepintvl_s = 75,
	 .keepcnt = 9, .rcvbuf = 131072, .sndbuf = 16384, .initial_window = 10,
	 .rto_initial_us = TAPIR_SEC(1), .rto_min_us = TAPIR_MS(200), .syn_retries = 6,
	 .delack_us = TAPIR_MS(40), .quickack = 1, .fastopen = 1, .uto_keepalive = 1},
	{.id = TAPIR_PROFILE_FREEBSD, .icmp_may_rst = 1, .icmp_bsd_hard = 1, .fin_on_ack = 1,
	 .rst_closing_reset = 1, .tw_ack_segments = 1, .old_fin_ack = 1, .rcvbuf_mss = 1, .listen_synack_drop = 1,
	 .options_bsd = 1, .keepidle_s = 7200, .keepintvl_s = 75, .keepcnt = 8, .rcvbuf = 65536,
	 .sndbuf = 32768, .initial_window = 10, .rto_initial_us = TAPIR_SEC(1),
	 .rto_min_us = TAPIR_MS(30), .rto_slop_us = TAPIR_MS(200), .syn_retries = 12,
	 .delack_us = TAPIR_MS(40), .fastopen = 1, .keepinit_s = 75},
};

static void test_tables(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(want_tables) / sizeof(want_tables[0]); i++)
		check_table(&want_tables[i]);
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(tapir_profile_by_name("rfc"), TAPIR_PROFILE_RFC);
	assert_int_equal(tapir_profile_by_name("linux"), TAPIR_PROFILE_LINUX);
	assert_int_equal(tapir_profile_by_name("freebsd"), TAPIR_PROFILE_FREEBSD);
	assert_int_equal(tapir_profile_by_name("FreeBSD"), -1);
	assert_int_equal(tapir_profile_by_name(""), -1);
	assert_int_equal(tapir_profile_by_name(NULL), -1);
	assert_string_equal(tapir_profile_name(TAPIR_PROFILE_LINUX), "linux");
	assert_null(tapir_profile_name(TAPIR_PROFILE_COUNT));
	assert_null(tapir_profile_get(TAPIR_PROFILE_COUNT));
}

/* The stack option: the default is rfc; a profile sets its table and the
 * general tunables it fixes; an unknown one changes nothing. */
static void test_config_option(void **state)
{
	struct tapir_config c, before;
	(void)state;
	tapir_config_default(&c);
	assert_int_equal(c.profile.id, TAPIR_PROFILE_RFC);
	assert_int_equal(c.tcp_rcvbuf, 65535);
	assert_int_equal(tapir_config_profile(&c, TAPIR_PROFILE_FREEBSD), 0);
	assert_int_equal(c.profile.id, TAPIR_PROFILE_FREEBSD);
	assert_int_equal(c.profile.fin_on_ack, 1);
	assert_int_equal(c.tcp_rcvbuf, 65536);
	assert_int_equal(c.tcp_sndbuf, 32768);
	assert_int_equal(c.tcp_rto_min_us, TAPIR_MS(30));
	assert_int_equal(c.tcp_syn_retries, 12);
	assert_int_equal(tapir_config_profile(&c, TAPIR_PROFILE_LINUX), 0);
	assert_int_equal(c.tcp_rcvbuf, 131072);
	assert_int_equal(c.tcp_sndbuf, 16384);
	assert_int_equal(c.profile.fin_on_ack, 0);
	before = c;
	assert_int_equal(tapir_config_profile(&c, TAPIR_PROFILE_COUNT), -1);
	assert_memory_equal(&c, &before, sizeof(c));
}

/* A stack made with a profile gives its sockets the profile's figures,
 * and its running profile may be changed for sockets made later. */
static void test_stack_sockets(void **state)
{
	struct tapir_config c;
	struct tapir_stack *s;
	struct tapir_tcp *t;
	int v;
	(void)state;
	tapir_config_default(&c);
	tapir_config_profile(&c, TAPIR_PROFILE_FREEBSD);
	s = tapir_stack_new(&c);
	assert_non_null(s);
	assert_int_equal(tapir_stack_profile(s)->id, TAPIR_PROFILE_FREEBSD);
	t = tapir_tcp_new(s);
	assert_non_null(t);
	assert_int_equal(tapir_tcp_getopt(t, TAPIR_TCP_KEEPCNT, &v), 0);
	assert_int_equal(v, 8);
	assert_int_equal(tapir_tcp_getopt(t, TAPIR_TCP_RCVBUF, &v), 0);
	assert_int_equal(v, 65536);
	tapir_tcp_close(t, 0);
	tapir_stack_profile(s)->keepcnt = 2;
	t = tapir_tcp_new(s);
	assert_non_null(t);
	assert_int_equal(tapir_tcp_getopt(t, TAPIR_TCP_KEEPCNT, &v), 0);
	assert_int_equal(v, 2);
	tapir_tcp_close(t, 0);
	tapir_stack_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),       cmocka_unit_test(test_names),
		cmocka_unit_test(test_config_option), cmocka_unit_test(test_stack_sockets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
