/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * tzwasm output ring: a module's stdout and stderr streamed from the secure world (single
 * producer) to the normal world (single consumer) through registered shared memory.
 *
 * Layout version 1. This file mirrors smc/src/ring.rs (tzwasm_smc::ring); the Rust tests
 * (ring::tests::c_header_*) parse every #define and the struct below and compare them with the
 * Rust definition, and compile this file with -Werror, so the two cannot drift. Change both
 * together. The protocol (who writes what, validation, ordering) is docs/protocol.md,
 * "Output ring".
 *
 * Block: the header below, then the stdout data area (capacity[0] bytes) at data_offset[0],
 * then the stderr data area (capacity[1] bytes) at data_offset[1]. Indices are free-running
 * uint32_t (wrapping); produced[s] - consumed[s] (mod 2^32) bytes are unread, and byte number
 * i of stream s is at data_offset[s] + (i & (capacity[s] - 1)).
 *
 * Consumer loop for one stream (read produced with acquire, write consumed with release):
 *
 *	uint32_t cons = my_consumed[s];      // own copy, never read back from the block
 *	uint32_t prod = __atomic_load_n(&h->produced[s], __ATOMIC_ACQUIRE);
 *	uint32_t avail = prod - cons;
 *	if (avail > cap[s]) -> corrupt       // cap[s]: own copy taken at format time
 *	while (avail) {
 *		uint32_t pos = cons & (cap[s] - 1);
 *		uint32_t n = avail < cap[s] - pos ? avail : cap[s] - pos;
 *		emit(s, base + data_offset[s] + pos, n);
 *		cons += n; avail -= n;
 *		__atomic_store_n(&h->consumed[s], cons, __ATOMIC_RELEASE);
 *	}
 */
#ifndef TZWASM_RING_H
#define TZWASM_RING_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/stddef.h>
#else
#include <stddef.h>
#include <stdint.h>
#endif

/* "TZWR" read as a little-endian uint32_t. */
#define TZWASM_RING_MAGIC 0x52575A54u
#define TZWASM_RING_VERSION 1u
#define TZWASM_RING_HEADER_SIZE 192u
/* Required alignment of the block. */
#define TZWASM_RING_ALIGN 64u
/* Largest capacity of one stream (capacities are powers of two, 1..this). */
#define TZWASM_RING_MAX_CAPACITY 0x80000000u
#define TZWASM_RING_STREAMS 2u
#define TZWASM_RING_STDOUT 0u
#define TZWASM_RING_STDERR 1u

/* flags bits (written by the secure world only). */
#define TZWASM_RING_FLAG_FINISHED 0x1u
#define TZWASM_RING_FLAG_CONSUMER_CORRUPT 0x2u

/* Byte offsets of the header words. */
#define TZWASM_RING_OFF_MAGIC 0u
#define TZWASM_RING_OFF_VERSION 4u
#define TZWASM_RING_OFF_HEADER_SIZE 8u
#define TZWASM_RING_OFF_RESERVED0 12u
#define TZWASM_RING_OFF_CAPACITY 16u
#define TZWASM_RING_OFF_DATA_OFFSET 24u
#define TZWASM_RING_OFF_RESERVED1 32u
#define TZWASM_RING_OFF_PRODUCED 64u
#define TZWASM_RING_OFF_FLAGS 72u
#define TZWASM_RING_OFF_RESERVED2 76u
#define TZWASM_RING_OFF_CONSUMED 128u
#define TZWASM_RING_OFF_RESERVED3 136u

struct tzwasm_ring_header {
	/* Line 0: layout, written once by the normal world (magic last, release). */
	uint32_t magic;
	uint32_t version;
	uint32_t header_size;
	uint32_t reserved0;
	uint32_t capacity[2];
	uint32_t data_offset[2];
	uint32_t reserved1[8];
	/* Line 1: written by the secure world only. */
	uint32_t produced[2];
	uint32_t flags;
	uint32_t reserved2[13];
	/* Line 2: written by the normal world only. */
	uint32_t consumed[2];
	uint32_t reserved3[14];
};

_Static_assert(sizeof(struct tzwasm_ring_header) == TZWASM_RING_HEADER_SIZE, "header size");
_Static_assert(offsetof(struct tzwasm_ring_header, magic) == TZWASM_RING_OFF_MAGIC, "magic");
_Static_assert(offsetof(struct tzwasm_ring_header, version) == TZWASM_RING_OFF_VERSION, "version");
_Static_assert(offsetof(struct tzwasm_ring_header, header_size) == TZWASM_RING_OFF_HEADER_SIZE,
	       "header_size");
_Static_assert(offsetof(struct tzwasm_ring_header, reserved0) == TZWASM_RING_OFF_RESERVED0,
	       "reserved0");
_Static_assert(offsetof(struct tzwasm_ring_header, capacity) == TZWASM_RING_OFF_CAPACITY,
	       "capacity");
_Static_assert(offsetof(struct tzwasm_ring_header, data_offset) == TZWASM_RING_OFF_DATA_OFFSET,
	       "data_offset");
_Static_assert(offsetof(struct tzwasm_ring_header, reserved1) == TZWASM_RING_OFF_RESERVED1,
	       "reserved1");
_Static_assert(offsetof(struct tzwasm_ring_header, produced) == TZWASM_RING_OFF_PRODUCED,
	       "produced");
_Static_assert(offsetof(struct tzwasm_ring_header, flags) == TZWASM_RING_OFF_FLAGS, "flags");
_Static_assert(offsetof(struct tzwasm_ring_header, reserved2) == TZWASM_RING_OFF_RESERVED2,
	       "reserved2");
_Static_assert(offsetof(struct tzwasm_ring_header, consumed) == TZWASM_RING_OFF_CONSUMED,
	       "consumed");
_Static_assert(offsetof(struct tzwasm_ring_header, reserved3) == TZWASM_RING_OFF_RESERVED3,
	       "reserved3");

#endif /* TZWASM_RING_H */
