/* SPDX-License-Identifier: MIT */
/*
 * Counters for operators: once a second the control thread writes them in Prometheus' text format
 * to /run/meshgate/<interface>.prom (written to a temporary file and renamed, so a reader never sees
 * half a file; node_exporter's textfile collector reads it as is). Every drop reason is there, at 0
 * until it happens, so a dashboard can be built before anything goes wrong.
 *
 * The control thread only formats the text (into memory); a thread of its own writes the file.
 * File systems can block: with /run on ext4 mounted -o discard (as on some VMs), the rename that
 * frees the old file's blocks waited for a synchronous discard and held the control thread, and so
 * handshakes, timers and the UAPI socket, for 3-8 s (seen under the flood test). If the writer is
 * still busy a second later, the newer text replaces the unwritten one.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core.h"
#include "counters.h"
#include "filter.h"
#include "keyenc.h"
#include "peers.h"
#include "stats.h"

#define STATS_DIR "/run/meshgate"

static char path[256], tmp_path[264];

/* The hand-over to the writer: the newest text not yet written, or NULL. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static char *pending;
static size_t pending_len;
static bool stopping, writer_running;
static pthread_t writer;

static void write_file(const char *text, size_t len)
{
	FILE *f = fopen(tmp_path, "w");

	if (!f)
		return;
	fwrite(text, 1, len, f);
	if (fclose(f) == 0)
		rename(tmp_path, path);
}

static void *writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		char *text;
		size_t len;

		while (!pending && !stopping)
			pthread_cond_wait(&wake, &lock);
		if (stopping)
			break;
		text = pending;
		len = pending_len;
		pending = NULL;
		pthread_mutex_unlock(&lock);
		write_file(text, len);
		free(text);
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

void stats_init(const char *ifname)
{
	mkdir(STATS_DIR, 0755);
	snprintf(path, sizeof(path), STATS_DIR "/%s.prom", ifname);
	snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", path);
	stopping = false;
	writer_running = pthread_create(&writer, NULL, writer_main, NULL) == 0;
	if (writer_running)
		pthread_setname_np(writer, "mg-stats");
}

static uint64_t sum(size_t offset)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < RTE_MAX_LCORE; i++)
		total += *(const uint64_t *)((const char *)&mg_stats[i] + offset);
	return total;
}

static void write_packets(FILE *f)
{
	static const struct {
		const char *name;
		size_t offset;
	} counters[] = {
		{ "wan_rx", offsetof(struct mg_lcore_stats, wan_rx) },
		{ "wan_tx", offsetof(struct mg_lcore_stats, wan_tx) },
		{ "inner_rx", offsetof(struct mg_lcore_stats, inner_rx) },
		{ "inner_tx", offsetof(struct mg_lcore_stats, inner_tx) },
		{ "decrypted", offsetof(struct mg_lcore_stats, decrypted) },
		{ "encrypted", offsetof(struct mg_lcore_stats, encrypted) },
		{ "keepalives_rx", offsetof(struct mg_lcore_stats, keepalives_rx) },
		{ "to_ctrl", offsetof(struct mg_lcore_stats, to_ctrl) },
		{ "wan_fragments", offsetof(struct mg_lcore_stats, wan_frags) },
		{ "reassembled", offsetof(struct mg_lcore_stats, reassembled) },
		{ "fragmented", offsetof(struct mg_lcore_stats, fragmented) },
		{ "cookie_replies_rx", offsetof(struct mg_lcore_stats, cookie_replies_rx) },
		{ "cookie_mac2_sent", offsetof(struct mg_lcore_stats, cookie_mac2_sent) },
		{ "flow_handed_off", offsetof(struct mg_lcore_stats, handed_off) },
		{ "decrypt_spread_out", offsetof(struct mg_lcore_stats, spread_out) },
		{ "decrypt_spread_in", offsetof(struct mg_lcore_stats, spread_in) },
	};

	fprintf(f, "# HELP meshgate_packets_total Packets by stage.\n# TYPE meshgate_packets_total counter\n");
	for (size_t i = 0; i < RTE_DIM(counters); i++)
		fprintf(f, "meshgate_packets_total{stage=\"%s\"} %" PRIu64 "\n", counters[i].name,
			sum(counters[i].offset));
	/* Per worker, to see how RSS spreads the WAN's flows over the workers' queues. */
	fprintf(f, "# HELP meshgate_worker_packets_total Packets by worker and stage.\n"
		   "# TYPE meshgate_worker_packets_total counter\n");
	for (unsigned int w = 0; w < mg_dev.n_workers; w++) {
		const struct mg_lcore_stats *st = &mg_stats[mg_dev.worker_lcore[w]];

		fprintf(f, "meshgate_worker_packets_total{worker=\"%u\",stage=\"wan_rx\"} %" PRIu64 "\n"
			   "meshgate_worker_packets_total{worker=\"%u\",stage=\"inner_rx\"} %" PRIu64 "\n"
			   "meshgate_worker_packets_total{worker=\"%u\",stage=\"flow_handed_off\"} %" PRIu64 "\n"
			   "meshgate_worker_packets_total{worker=\"%u\",stage=\"decrypt_spread_in\"} %" PRIu64 "\n",
			w, st->wan_rx, w, st->inner_rx, w, st->handed_off, w, st->spread_in);
	}
	fprintf(f, "# HELP meshgate_drops_total Packets not delivered, by reason.\n"
		   "# TYPE meshgate_drops_total counter\n");
	for (unsigned int r = 0; r < MG_DROP_COUNT; r++)
		fprintf(f, "meshgate_drops_total{reason=\"%s\"} %" PRIu64 "\n", mg_drop_names[r], mg_drop_total(r));
}

static void write_peers(FILE *f)
{
	fprintf(f, "# HELP meshgate_peer_bytes_total Data bytes to/from each peer (worker paths).\n"
		   "# TYPE meshgate_peer_bytes_total counter\n");
	for (unsigned int i = 0; i < MG_MAX_PEERS; i++) {
		const struct mg_peer *p = mg_dev.peers[i];
		uint64_t rx = 0, tx = 0;
		char key[KEYENC_B64_LEN + 1];

		if (!p)
			continue;
		peers_data_bytes(p, &rx, &tx);
		keyenc_to_base64(key, p->public_key);
		fprintf(f, "meshgate_peer_bytes_total{peer=\"%s\",dir=\"rx\"} %" PRIu64 "\n", key, rx);
		fprintf(f, "meshgate_peer_bytes_total{peer=\"%s\",dir=\"tx\"} %" PRIu64 "\n", key, tx);
	}
	fprintf(f, "# HELP meshgate_mbufs_in_use Mbufs out of the pool (leak check: returns to a baseline).\n"
		   "# TYPE meshgate_mbufs_in_use gauge\nmeshgate_mbufs_in_use %u\n",
		rte_mempool_in_use_count(mg_dev.pool));
}

static void write_ctrl(FILE *f)
{
	fprintf(f, "# HELP meshgate_handshakes_total Handshake events on the control thread.\n"
		   "# TYPE meshgate_handshakes_total counter\n"
		   "meshgate_handshakes_total{event=\"initiation_sent\"} %" PRIu64 "\n"
		   "meshgate_handshakes_total{event=\"response_sent\"} %" PRIu64 "\n"
		   "meshgate_handshakes_total{event=\"session\"} %" PRIu64 "\n"
		   "meshgate_handshakes_total{event=\"given_up\"} %" PRIu64 "\n",
		ctrl.initiations_sent, ctrl.responses_sent, ctrl.sessions, ctrl.handshakes_given_up);
	fprintf(f, "# HELP meshgate_wan_link_up Whether the WAN link is up (with carrier).\n"
		   "# TYPE meshgate_wan_link_up gauge\nmeshgate_wan_link_up %d\n"
		   "# HELP meshgate_wan_link_changes_total WAN link state changes seen.\n"
		   "# TYPE meshgate_wan_link_changes_total counter\nmeshgate_wan_link_changes_total %" PRIu64 "\n",
		ctrl.wan_up, ctrl.wan_link_changes);
	if (mg_dev.lan)
		fprintf(f, "# HELP meshgate_lan_link_up Whether the LAN link is up (gateway mode).\n"
			   "# TYPE meshgate_lan_link_up gauge\nmeshgate_lan_link_up %d\n"
			   "# HELP meshgate_lan_link_changes_total LAN link state changes seen.\n"
			   "# TYPE meshgate_lan_link_changes_total counter\nmeshgate_lan_link_changes_total %" PRIu64 "\n",
			ctrl.lan_up, ctrl.lan_link_changes);
	fprintf(f, "# HELP meshgate_icmp_errors_sent_total ICMP/ICMPv6 errors sent about packets not forwarded.\n"
		   "# TYPE meshgate_icmp_errors_sent_total counter\nmeshgate_icmp_errors_sent_total %" PRIu64 "\n"
		   "# HELP meshgate_echo_replies_sent_total Pings to the gateway's LAN address answered.\n"
		   "# TYPE meshgate_echo_replies_sent_total counter\nmeshgate_echo_replies_sent_total %" PRIu64 "\n",
		ctrl.icmp_errors_sent, ctrl.echo_replies_sent);
}

void stats_write(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!path[0] || !writer_running || !(f = open_memstream(&text, &len)))
		return;
	write_packets(f);
	write_peers(f);
	write_ctrl(f);
	filter_write_stats(f);
	if (fclose(f) != 0) {
		free(text);
		return;
	}
	pthread_mutex_lock(&lock);
	free(pending);
	pending = text;
	pending_len = len;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
}

void stats_fini(void)
{
	if (writer_running) {
		pthread_mutex_lock(&lock);
		stopping = true;
		pthread_cond_signal(&wake);
		pthread_mutex_unlock(&lock);
		pthread_join(writer, NULL);
		writer_running = false;
	}
	free(pending);
	pending = NULL;
	if (path[0]) {
		remove(path);
		path[0] = 0;
	}
}
