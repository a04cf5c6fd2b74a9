/* OS profiles (include/tapir/profile.h, core/profile.c): every field of
 * every table, names, and the stack option (struct tapir_config). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core.h"
#include "frames.h"

/* rfc: today's defaults, the RFC reading (0 in every FreeBSD flag) */
static void test_rfc_table(void **state)
{
	const struct tapir_profile *p = tapir_profile_get(TAPIR_PROFILE_RFC);
	(void)state;
	assert_non_null(p);
	assert_int_equal(p->id, TAPIR_PROFILE_RFC);
	assert_int_equal(p->insecure_syn, 0);
	assert_int_equal(p->insecure_rst, 0);
	assert_int_equal(p->drop_synfin, 0);
	assert_int_equal(p->icmp_may_rst, 1);
	assert_int_equal(p->icmp_bsd_hard, 0);
	assert_int_equal(p->fin_on_ack, 0);
	assert_int_equal(p->rst_closing_reset, 0);
	assert_int_equal(p->tw_ack_segments, 0);
	assert_int_equal(p->rcvbuf_mss, 0);
	assert_int_equal(p->listen_synack_drop, 0);
	assert_int_equal(p->options_bsd, 0);
	assert_int_equal(p->keepidle_s, 7200);
	assert_int_equal(p->keepintvl_s, 75);
	assert_int_equal(p->keepcnt, 9);
	assert_int_equal(p->rcvbuf, 65535);
	assert_int_equal(p->sndbuf, 131072);
	assert_int_equal(p->initial_window, 10);
	assert_int_equal(p->rto_initial_us, TAPIR_SEC(1));
	assert_int_equal(p->rto_min_us, TAPIR_MS(200));
	assert_int_equal(p->rto_slop_us, 0);
	assert_int_equal(p->syn_retries, 6);
	assert_int_equal(p->delack_us, TAPIR_MS(40));
}

static void test_linux_table(void **state)
{
	const struct tapir_profile *p = tapir_profile_get(TAPIR_PROFILE_LINUX);
	(void)state;
	assert_non_null(p);
	assert_int_equal(p->id, TAPIR_PROFILE_LINUX);
	assert_int_equal(p->insecure_syn, 0);
	assert_int_equal(p->insecure_rst, 0);
	assert_int_equal(p->drop_synfin, 0);
	assert_int_equal(p->icmp_may_rst, 1);
	assert_int_equal(p->icmp_bsd_hard, 0);
	assert_int_equal(p->fin_on_ack, 0);
	assert_int_equal(p->rst_closing_reset, 0);
	assert_int_equal(p->tw_ack_segments, 0);
	assert_int_equal(p->rcvbuf_mss, 0);
	assert_int_equal(p->listen_synack_drop, 0);
	assert_int_equal(p->options_bsd, 0);
	assert_int_equal(p->keepidle_s, 7200);
	assert_int_equal(p->keepintvl_s, 75);
	assert_int_equal(p->keepcnt, 9);
	assert_int_equal(p->rcvbuf, 131072);
	assert_int_equal(p->sndbuf, 16384);
	assert_int_equal(p->initial_window, 10);
	assert_int_equal(p->rto_initial_us, TAPIR_SEC(1));
	assert_int_equal(p->rto_min_us, TAPIR_MS(200));
	assert_int_equal(p->rto_slop_us, 0);
	assert_int_equal(p->syn_retries, 6);
	assert_int_equal(p->delack_us, TAPIR_MS(40));
}

static void test_freebsd_table(void **state)
{
	const struct tapir_profile *p = tapir_profile_get(TAPIR_PROFILE_FREEBSD);
	(void)state;
	assert_non_null(p);
	assert_int_equal(p->id, TAPIR_PROFILE_FREEBSD);
	assert_int_equal(p->insecure_syn, 0);
	assert_int_equal(p->insecure_rst, 0);
	assert_int_equal(p->drop_synfin, 0);
	assert_int_equal(p->icmp_may_rst, 1);
	assert_int_equal(p->icmp_bsd_hard, 1);
	assert_int_equal(p->fin_on_ack, 1);
	assert_int_equal(p->rst_closing_reset, 1);
	assert_int_equal(p->tw_ack_segments, 1);
	assert_int_equal(p->rcvbuf_mss, 1);
	assert_int_equal(p->listen_synack_drop, 1);
	assert_int_equal(p->options_bsd, 1);
	assert_int_equal(p->keepidle_s, 7200);
	assert_int_equal(p->keepintvl_s, 75);
	assert_int_equal(p->keepcnt, 8);
	assert_int_equal(p->rcvbuf, 65536);
	assert_int_equal(p->sndbuf, 32768);
	assert_int_equal(p->initial_window, 10);
	assert_int_equal(p->rto_initial_us, TAPIR_SEC(1));
	assert_int_equal(p->rto_min_us, TAPIR_MS(30));
	assert_int_equal(p->rto_slop_us, TAPIR_MS(200));
	assert_int_equal(p->syn_retries, 12);
	assert_int_equal(p->delack_us, TAPIR_MS(40));
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
		cmocka_unit_test(test_rfc_table),    cmocka_unit_test(test_linux_table),
		cmocka_unit_test(test_freebsd_table), cmocka_unit_test(test_names),
		cmocka_unit_test(test_config_option), cmocka_unit_test(test_stack_sockets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
