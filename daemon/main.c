/* SPDX-License-Identifier: MIT */
/*
 * meshgate: start-up and shutdown. Reads the JSON config, starts DPDK's EAL with the config's
 * settings (or the command line's, before "--"), brings up the WAN port and the inner side (host
 * mode's TUN, or gateway mode's LAN port), launches
 * one worker per remaining lcore and runs the control thread on the main lcore until SIGINT/SIGTERM.
 * The packet paths are in dataplane/, the control thread in ctrl/, the OS's part in host/.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include <sodium.h>

#include "config.h"
#include "core.h"
#include "keyfile.h"
#include "loop.h"
#include "port.h"
#include "selftest.h"
#include "worker.h"

#define MAX_EAL_ARGS 64

static void usage(FILE *out)
{
	fprintf(out,
		"usage: meshgate --config FILE\n"
		"       meshgate [EAL options] -- --config FILE\n"
		"       meshgate --self-check | --help | --version\n"
		"\n"
		"  --config FILE  run the gateway described by FILE (JSON: interface, private_key_file,\n"
		"                 listen_port, eal, wan, inner, idle, workers, spread, log_level, peers,\n"
		"                 flows, policy; see README). EAL options come from the file's \"eal\"\n"
		"                 list unless given on the command line before --.\n"
		"                 inner.device \"tun\": host mode (a TUN for this host's own traffic); a DPDK\n"
		"                 device: gateway mode, routing a LAN's subnets (inner.addresses,\n"
		"                 inner.routes) through the mesh. \"policy\": a stateful packet filter\n"
		"                 (first match wins, a default), with a flow table (\"flows\").\n"
		"                 \"spread\" (default true): one peer's decryption shared by idle workers,\n"
		"                 delivered in arrival order.\n"
		"  --self-check   verify the crypto and the WireGuard handshake against published known\n"
		"                 answers and across every AEAD backend this CPU supports; exit 0 if all pass\n"
		"  --help         this text\n"
		"  --version      print the version\n"
		"\n"
		"The interface is configured at run time with the standard wg tool (wg show, wg set, wg\n"
		"setconf, wg syncconf) through /var/run/wireguard/<interface>.sock. SIGINT or SIGTERM stop it;\n"
		"SIGHUP reloads the file's \"policy\" block (the packet filter), leaving the rest.\n"
		"Exit status: 0 stopped cleanly; 1 start-up failed; 2 bad command line; 3 stopped, but mbufs\n"
		"were missing from the pool at exit (a leak, printed); 4 stopped because the inner interface\n"
		"was deleted.\n"
		"Environment: MESHGATE_AEAD=sodium|ipsecmb|simd-avx2|simd-avx512|simd-ifma forces the data\n"
		"path's AEAD backend (default: the fastest this CPU runs).\n");
}

static void on_signal(int sig)
{
	(void)sig;
	mg_dev.quit = true;
}

static void on_sighup(int sig)
{
	(void)sig;
	ctrl.reload = 1;
}

static int self_check(void)
{
	int failed;

	printf("meshgate %s self-check:\n", MESHGATE_VERSION);
	failed = selftest_run(stdout);
	printf("self-check: %s\n", failed ? "FAILED" : "all checks passed");
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Our own options (after "--", or all of argv when there is no "--"). */
static int parse_options(int argc, char **argv, const char **config_path)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "self-check", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			*config_path = optarg;
			break;
		case 's':
			exit(self_check());
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		case 'V':
			printf("meshgate %s\n", MESHGATE_VERSION);
			exit(EXIT_SUCCESS);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc || !*config_path) {
		fprintf(stderr, "meshgate: %s\n", optind < argc ? "unexpected argument" : "--config FILE is required");
		usage(stderr);
		return -1;
	}
	return 0;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = 0;
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int load_config(const char *path, struct mg_config *cfg)
{
	char err[512];
	size_t len;
	char *text = read_file(path, &len);
	int ret;

	if (!text) {
		fprintf(stderr, "meshgate: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	ret = config_parse(text, len, cfg, err, sizeof(err));
	free(text);
	if (ret) {
		fprintf(stderr, "meshgate: %s: %s\n", path, err);
		return -1;
	}
	ret = keyfile_read(cfg->private_key_file, cfg->wg.private_key, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "meshgate: %s: private_key_file: %s\n", path, err);
		config_free(cfg);
		return -1;
	}
	cfg->wg.has_private_key = true;
	cfg->wg.has_listen_port = true;
	cfg->wg.listen_port = cfg->listen_port;
	return 0;
}

/* EAL argv: argv[0], then the command line's EAL part if any, else the config's list. */
static int eal_args(char **out, char **argv, int dashdash, const struct mg_config *cfg)
{
	int n = 0;

	out[n++] = argv[0];
	if (dashdash > 1) {
		for (int i = 1; i < dashdash && n < MAX_EAL_ARGS; i++)
			out[n++] = argv[i];
	} else {
		for (size_t i = 0; i < cfg->n_eal && n < MAX_EAL_ARGS; i++)
			out[n++] = cfg->eal[i];
	}
	return n;
}

int main(int argc, char **argv)
{
	static struct mg_config cfg;
	const char *config_path = NULL;
	char *eal_argv[MAX_EAL_ARGS + 1];
	int dashdash = 0, eal_argc, ret;
	unsigned int leaked;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			dashdash = i;
			break;
		}
	if (parse_options(dashdash ? argc - dashdash : argc, dashdash ? argv + dashdash : argv,
			  &config_path) != 0)
		return 2;
	if (sodium_init() < 0 || load_config(config_path, &cfg) != 0)
		return 1;
	eal_argc = eal_args(eal_argv, argv, dashdash, &cfg);
	eal_argc = port_eal_vdev_args(&cfg, eal_argv, eal_argc, MAX_EAL_ARGS);
	eal_argv[eal_argc] = NULL;
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "meshgate: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	static const uint32_t levels[] = {
		[CONFIG_LOG_ERROR] = RTE_LOG_ERR, [CONFIG_LOG_WARNING] = RTE_LOG_WARNING,
		[CONFIG_LOG_INFO] = RTE_LOG_INFO, [CONFIG_LOG_DEBUG] = RTE_LOG_DEBUG,
	};

	rte_log_set_level(RTE_LOGTYPE_USER1, levels[cfg.log_level]);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_sighup);
	ctrl.config_path = config_path;
	mg_clock_init();
	ret = port_setup(&cfg);
	if (ret == 0)
		ret = loop_init(&cfg);
	if (ret == 0)
		ret = port_launch_workers();
	if (ret == 0) {
		printf("meshgate: %s up: WAN %s, %s %s, %u worker(s), %u peer(s), AEAD %s\n",
		       cfg.interface, cfg.wan.device, cfg.inner.device ? "LAN" : "inner",
		       cfg.inner.device ? cfg.inner.device : cfg.inner.name, mg_dev.n_workers, ctrl.n_peers,
		       aead_burst_backend_name(mg_workers[0].aead.backend));
		fflush(stdout);
		loop_run();
	} else {
		fprintf(stderr, "meshgate: start-up failed: %s\n", strerror(-ret));
		mg_dev.quit = true;
	}
	rte_eal_mp_wait_lcore();
	loop_fini();
	leaked = port_teardown();
	config_free(&cfg);
	rte_eal_cleanup();
	if (leaked)
		fprintf(stderr, "meshgate: %u mbufs were not returned to the pool (a leak)\n", leaked);
	else if (ret == 0)
		printf("meshgate: stopped, every mbuf back in the pool\n");
	return ret ? 1 : leaked ? 3 : ctrl.inner_gone ? 4 : 0;
}
