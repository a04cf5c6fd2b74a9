/* Capture files through libpcap's dump API, so tshark and tcpdump read
 * exactly what tapir sent and received. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

#include <tapir/link.h>

struct tapir_pcap {
	pcap_t *dead;
	pcap_dumper_t *dump;
};

struct tapir_pcap *tapir_pcap_open(const char *path, char *err, size_t errlen)
{
	struct tapir_pcap *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->dead = pcap_open_dead(DLT_EN10MB, 262144);
	if (!p->dead) {
		snprintf(err, errlen, "pcap_open_dead failed");
		free(p);
		return NULL;
	}
	p->dump = pcap_dump_open(p->dead, path);
	if (!p->dump) {
		snprintf(err, errlen, "cannot write %s: %s", path, pcap_geterr(p->dead));
		pcap_close(p->dead);
		free(p);
		return NULL;
	}
	return p;
}

void tapir_pcap_write(struct tapir_pcap *p, const uint8_t *frame, size_t len, uint64_t wall_us)
{
	struct pcap_pkthdr h;
	h.ts.tv_sec = (time_t)(wall_us / 1000000);
	h.ts.tv_usec = (suseconds_t)(wall_us % 1000000);
	h.caplen = h.len = (bpf_u_int32)len;
	pcap_dump((u_char *)p->dump, &h, frame);
}

void tapir_pcap_flush(struct tapir_pcap *p) { pcap_dump_flush(p->dump); }

void tapir_pcap_close(struct tapir_pcap *p)
{
	if (!p)
		return;
	pcap_dump_close(p->dump);
	pcap_close(p->dead);
	free(p);
}
