/* SPDX-License-Identifier: MIT */
/*
 * The packet filter and the flow tables, control thread's side (dataplane/flowstage.c is the
 * workers'): the compiled policy published as a filter generation (struct mg_filter, with a hit
 * counter per rule for each worker), replaced as a whole when the config file's policy block is
 * reloaded (SIGHUP), the old one freed after a grace period; and the counters file's part: rule
 * hits, the flow tables' counts, and the largest flows with their peers.
 *
 * The flow tables are the workers'; reading their counters and flows from here races with the
 * owner's writes. That is telemetry only: a count a little behind, or a flow listed as it changes,
 * never memory that is gone (the tables' memory lives as long as the workers).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "core.h"
#include "filter.h"
#include "flow.h"
#include "keyenc.h"
#include "policy.h"

#define TOP_FLOWS 16 /* the largest flows listed in the counters file */

static uint32_t next_gen = 1;

static void filter_free(void *arg)
{
	struct mg_filter *fl = arg;

	if (!fl)
		return;
	for (unsigned int i = 0; i < MG_MAX_WORKERS; i++)
		free(fl->hits[i]);
	policy_free(fl->policy);
	free(fl);
}

int filter_publish(struct policy *policy)
{
	struct mg_filter *fl = NULL, *old = mg_dev.filter;

	if (policy) {
		fl = calloc(1, sizeof(*fl));
		if (!fl) {
			policy_free(policy);
			return -ENOMEM;
		}
		fl->policy = policy;
		fl->n_counters = policy_rule_count(policy) + 1;
		for (unsigned int i = 0; i < mg_dev.n_workers; i++) {
			fl->hits[i] = calloc(fl->n_counters, sizeof(uint64_t));
			if (!fl->hits[i]) {
				filter_free(fl);
				return -ENOMEM;
			}
		}
		fl->gen = next_gen++ & 0x7fffffffu;
		if (!fl->gen)
			fl->gen = next_gen++;
	}
	__atomic_store_n(&mg_dev.filter, fl, __ATOMIC_RELEASE);
	if (old)
		core_defer_free(old, filter_free);
	return 0;
}

int filter_reload(const char *path)
{
	struct mg_config cfg;
	char err[512];
	size_t len = 0;
	char *text = NULL;
	FILE *f = fopen(path, "rb");
	int ret;

	if (f) {
		text = malloc(1 << 20);
		len = text ? fread(text, 1, 1 << 20, f) : 0;
		fclose(f);
	}
	if (!text || !len || len == 1 << 20) {
		free(text);
		RTE_LOG(ERR, USER1, "policy reload: cannot read %s (or over 1 MiB): nothing changed\n", path);
		return -EIO;
	}
	ret = config_parse(text, len, &cfg, err, sizeof(err));
	free(text);
	if (ret) {
		RTE_LOG(ERR, USER1, "policy reload: %s: %s: nothing changed\n", path, err);
		return ret;
	}
	if (cfg.policy && !mg_dev.flow_max) {
		RTE_LOG(ERR, USER1, "policy reload: %s has a policy, but meshgate started without one and so "
			"without flow tables (sized at start): restart to add it; nothing changed\n", path);
		config_free(&cfg);
		return -EINVAL;
	}
	ret = filter_publish(cfg.policy);
	RTE_LOG(INFO, USER1, "policy reload: %s: %s (%u rules); other changes in the file need a restart\n", path,
		ret ? "out of memory, nothing changed" : cfg.policy ? "new policy in force" : "no policy: all accepted",
		cfg.policy && !ret ? policy_rule_count(cfg.policy) : 0);
	cfg.policy = NULL; /* the filter's now (or freed) */
	config_free(&cfg);
	return ret;
}

void filter_fini(void)
{
	struct mg_filter *old = mg_dev.filter;

	__atomic_store_n(&mg_dev.filter, NULL, __ATOMIC_RELEASE);
	if (old)
		core_defer_free(old, filter_free);
}

static const char *ip_text(int family, const uint8_t *a, char *buf, size_t n)
{
	return inet_ntop(family, a, buf, (socklen_t)n) ? buf : "?";
}

static void write_top(FILE *f, struct flow_table *const *tables, unsigned int n_tables)
{
	struct flow_info top[TOP_FLOWS], one[TOP_FLOWS];
	unsigned int n = 0;

	/* The largest of each worker's largest, by bytes both ways. */
	for (unsigned int t = 0; t < n_tables; t++) {
		unsigned int got = tables[t] ? flow_top(tables[t], FLOW_PEER_ANY, ctrl.now_ns, one, TOP_FLOWS) : 0;

		for (unsigned int i = 0; i < got; i++) {
			uint64_t b = one[i].bytes[0] + one[i].bytes[1];
			unsigned int at = n < TOP_FLOWS ? n++ : TOP_FLOWS - 1;

			if (at == TOP_FLOWS - 1 && n == TOP_FLOWS &&
			    b <= top[at].bytes[0] + top[at].bytes[1])
				continue;
			while (at > 0 && top[at - 1].bytes[0] + top[at - 1].bytes[1] < b) {
				top[at] = top[at - 1];
				at--;
			}
			top[at] = one[i];
		}
	}
	fprintf(f, "# HELP meshgate_flow_bytes Bytes of the largest flows (original and reply direction).\n"
		   "# TYPE meshgate_flow_bytes gauge\n");
	for (unsigned int i = 0; i < n; i++) {
		const struct flow_info *fi = &top[i];
		const struct mg_peer *p = fi->peer < MG_MAX_PEERS ? mg_dev.peers[fi->peer] : NULL;
		char key[KEYENC_B64_LEN + 1] = "", src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

		if (p)
			keyenc_to_base64(key, p->public_key);
		for (int d = 0; d < 2; d++)
			fprintf(f, "meshgate_flow_bytes{peer=\"%s\",proto=\"%u\",src=\"%s\",sport=\"%u\",dst=\"%s\","
				   "dport=\"%u\",dir=\"%s\"} %" PRIu64 "\n", key, fi->key.proto,
				ip_text(fi->key.family, fi->key.src, src, sizeof(src)), fi->key.sport,
				ip_text(fi->key.family, fi->key.dst, dst, sizeof(dst)), fi->key.dport,
				d ? "reply" : "orig", fi->bytes[d]);
	}
}

void filter_write_stats(FILE *f)
{
	const struct mg_filter *fl = mg_dev.filter;
	struct flow_stats sum = { 0 };
	unsigned int n_tables = 0;

	if (fl) {
		fprintf(f, "# HELP meshgate_policy_flows_total New flows (and flows judged again after a reload) "
			   "by the rule that judged them.\n# TYPE meshgate_policy_flows_total counter\n");
		for (uint32_t r = 0; r < fl->n_counters; r++) {
			uint64_t n = 0;
			char name[16];

			for (unsigned int w = 0; w < mg_dev.n_workers; w++)
				n += __atomic_load_n(&fl->hits[w][r], __ATOMIC_RELAXED);
			snprintf(name, sizeof(name), "%u", r);
			fprintf(f, "meshgate_policy_flows_total{rule=\"%s\",action=\"%s\"} %" PRIu64 "\n",
				r + 1 == fl->n_counters ? "default" : name,
				policy_action(fl->policy, r + 1 == fl->n_counters ? POLICY_DEFAULT : r) == POLICY_ACCEPT ?
				"accept" : "drop", n);
		}
		fprintf(f, "# HELP meshgate_policy_generation Policies published since start.\n"
			   "# TYPE meshgate_policy_generation gauge\nmeshgate_policy_generation %u\n", fl->gen);
	}
	for (unsigned int w = 0; w < mg_dev.n_workers; w++) {
		struct flow_stats st;

		if (!mg_dev.flow_tables[w])
			continue;
		n_tables++;
		flow_table_stats(mg_dev.flow_tables[w], &st);
		sum.in_use += st.in_use;
		sum.max_flows += st.max_flows;
		sum.created += st.created;
		sum.expired += st.expired;
		sum.evicted += st.evicted;
	}
	if (!n_tables)
		return;
	fprintf(f, "# HELP meshgate_flows Flows in the workers' tables, and their room.\n# TYPE meshgate_flows gauge\n"
		   "meshgate_flows{what=\"in_use\"} %" PRIu64 "\nmeshgate_flows{what=\"max\"} %" PRIu64 "\n"
		   "# HELP meshgate_flows_total Flows created, expired, and evicted to make room.\n"
		   "# TYPE meshgate_flows_total counter\n"
		   "meshgate_flows_total{event=\"created\"} %" PRIu64 "\nmeshgate_flows_total{event=\"expired\"} %" PRIu64 "\n"
		   "meshgate_flows_total{event=\"evicted\"} %" PRIu64 "\n",
		sum.in_use, sum.max_flows, sum.created, sum.expired, sum.evicted);
	write_top(f, mg_dev.flow_tables, mg_dev.n_workers);
}
