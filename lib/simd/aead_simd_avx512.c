/* SPDX-License-Identifier: MIT */
/*
 * AVX-512 level (-mavx512f -mavx512bw -mavx512vl): 16 lanes, Poly1305 in 26-bit limbs.
 * The engine is aead_lanes_x16.h; this file only picks the Poly1305 form and the names.
 */
#include "poly1305_x16.h"

#define MG_LEVEL_FN(name) mg_simd_avx512_##name
#include "aead_lanes_x16.h"
