/* Trace lines and counters: how a person watches the stack work. */
#include <stdio.h>

#include "core.h"

static const struct {
	const char *name;
	unsigned bit;
} channels[] = {
	{"link", TAPIR_TR_LINK}, {"arp", TAPIR_TR_ARP},   {"ip", TAPIR_TR_IP},
	{"icmp", TAPIR_TR_ICMP}, {"udp", TAPIR_TR_UDP},   {"tcp", TAPIR_TR_TCP},
	{"socket", TAPIR_TR_SOCKET}, {"ip6", TAPIR_TR_IP6},   {"icmp6", TAPIR_TR_ICMP6},
	{"nd", TAPIR_TR_ND},
};

void tapir_set_trace(struct tapir_stack *s, unsigned mask, tapir_trace_fn fn, void *arg)
{
	s->trace_mask = fn ? mask : 0;
	s->trace_fn = fn;
	s->trace_arg = arg;
}

int tapir_trace_parse(const char *list, unsigned *mask, const char **bad)
{
	*mask = 0;
	while (*list) {
		size_t n = strcspn(list, ",");
		unsigned bit = 0;
		if (n == 3 && !strncmp(list, "all", 3))
			bit = TAPIR_TR_ALL;
		for (size_t i = 0; !bit && i < sizeof(channels) / sizeof(channels[0]); i++)
			if (strlen(channels[i].name) == n && !strncmp(list, channels[i].name, n))
				bit = channels[i].bit;
		if (!bit && n) {
			if (bad)
				*bad = list;
			return -1;
		}
		*mask |= bit;
		list += n;
		if (*list == ',')
			list++;
	}
	return 0;
}

void tp_trace(struct tapir_stack *s, unsigned chan, const char *fmt, ...)
{
	char line[256];
	const char *name = "?";
	va_list ap;

	for (size_t i = 0; i < sizeof(channels) / sizeof(channels[0]); i++)
		if (channels[i].bit == chan)
			name = channels[i].name;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->trace_fn(s->trace_arg, s->now, name, line);
}

/* ---- counters ---- */

static const char *const drop_names[] = {
#define X(name, text) #name,
	TAPIR_DROP_REASONS(X)
#undef X
};
static const char *const drop_texts[] = {
#define X(name, text) text,
	TAPIR_DROP_REASONS(X)
#undef X
};

const struct tapir_stats *tapir_stats(const struct tapir_stack *s) { return &s->stats; }

const char *tapir_drop_name(enum tapir_drop d)
{
	return d < TAPIR_DROP_COUNT ? drop_names[d] : "?";
}

const char *tapir_drop_text(enum tapir_drop d)
{
	return d < TAPIR_DROP_COUNT ? drop_texts[d] : "?";
}

uint64_t tapir_drops_total(const struct tapir_stats *st)
{
	uint64_t n = 0;
	for (int i = 0; i < TAPIR_DROP_COUNT; i++)
		n += st->drop[i];
	return n;
}

void tapir_stats_foreach(const struct tapir_stack *s,
			 void (*fn)(void *arg, const char *name, uint64_t value), void *arg)
{
	const struct tapir_stats *st = &s->stats;
	char name[64];
#define X(n) fn(arg, #n, st->n);
	TAPIR_COUNTERS(X)
#undef X
	for (int i = 0; i < TAPIR_DROP_COUNT; i++) {
		snprintf(name, sizeof(name), "drop.%s", drop_names[i]);
		fn(arg, name, st->drop[i]);
	}
}
