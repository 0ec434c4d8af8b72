/* SPDX-License-Identifier: MIT */
#ifndef MG_TUN_H
#define MG_TUN_H

#include <stdint.h>

/* 0 or -errno (the kernel's). */
int tun_add_address(const char *ifname, int family, const uint8_t *addr, uint8_t prefix_len);
int tun_set_mtu(const char *ifname, uint32_t mtu);
int tun_set_up(const char *ifname);

#endif
