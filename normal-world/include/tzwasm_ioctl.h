/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR Apache-2.0 OR MIT */
/*
 * tzwasm.ko user interface: the /dev/tzwasm misc device.
 *
 * Each open file is one session with the tzwasm secure world:
 *
 *   fd = open("/dev/tzwasm", O_RDWR | O_CLOEXEC);
 *   struct tzwasm_ioc_setup s = { .shm_size = 1 << 20, .quota = 16 << 20 };
 *   ioctl(fd, TZWASM_IOC_SETUP, &s);     // pages allocated, registered, session opened
 *   p = mmap(NULL, s.shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
 *   ... write the .aot file, a run block and a ring into p ...
 *   struct tzwasm_ioc_call c = { .regs = { TZWASM_FN_LOAD, 0, 0, off, len, rep } };
 *   ioctl(fd, TZWASM_IOC_CALL, &c);      // c.ret[0..3] = the secure world's x0..x3
 *   close(fd);                           // run cancelled, session closed, pages freed
 *
 * Userspace never names physical memory: the driver owns the pages and fills in the session
 * and shared-memory handles itself. docs/driver.md describes every call and error; the SMC
 * protocol (registers, statuses, the LOAD report, the run block, the output ring) is
 * docs/protocol.md. All fields are 64-bit: the layout is the same for every ABI.
 */
#ifndef TZWASM_IOCTL_H
#define TZWASM_IOCTL_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/ioctl.h>
#else
#include <linux/types.h>
#include <sys/ioctl.h>
#endif

#define TZWASM_DEVICE "/dev/tzwasm"
#define TZWASM_IOC_MAGIC 'z'

/* Largest shm_size: the pages are physically contiguous (one buddy allocation). */
#define TZWASM_SHM_MAX_SIZE (4UL << 20)

/*
 * TZWASM_IOC_SETUP, once per open file.
 *  in:  shm_size  bytes of shared memory, a multiple of the page size, 1 page ..
 *                 TZWASM_SHM_MAX_SIZE
 *       quota     the session's heap quota in bytes (SESSION_OPEN x1)
 *  out: status    0, or the secure world's refusal (x0 as a signed value, e.g. -263
 *                 QUOTA_TOO_SMALL); the ioctl then fails (EINVAL, ENOMEM, EBUSY, ENOSPC, EIO)
 *       value     with a refusal, its x1 (the minimum or maximum quota)
 *       session   the session handle (informational)
 *       shm_handle the shared-memory handle (informational)
 * A second SETUP on the same file fails with EBUSY.
 * Per-uid limits of the driver (module parameters; the opener's euid pays, CAP_SYS_ADMIN is
 * exempt) refuse with status 0 and value = the limit that applied: EMFILE (the uid already
 * holds max_sessions_per_uid sessions), EDQUOT (the uid's heap quotas would exceed
 * max_quota_per_uid bytes), EUSERS (too many uids hold sessions at once).
 */
struct tzwasm_ioc_setup {
	__u64 shm_size;
	__u64 quota;
	__s64 status;
	__u64 value;
	__u64 session;
	__u64 shm_handle;
};

/*
 * TZWASM_IOC_CALL: one tzwasm call for this file's session.
 *  in:  regs[0]   function id: only GET_INFO, NULL, LOAD, RUN, RESUME, CANCEL, UNLOAD, STATS
 *                 (anything else: EPERM)
 *       regs[1..7] x1..x7. For LOAD, RUN, RESUME, CANCEL, UNLOAD and STATS the driver
 *                 replaces regs[1] with the session handle; for LOAD and RUN it replaces
 *                 regs[2] with the shared-memory handle. Offsets are relative to the mapping.
 *  out: ret[0..3] x0..x3 of the final answer.
 * RUN and RESUME continue in the kernel while the secure world answers INTERRUPTED, and return
 * on OUTPUT_PENDING (drain the ring, then RESUME), on the end of the run, and with INTERRUPTED
 * at most every 100 ms of an interrupted run (drain the ring, then RESUME: so output streams
 * while a module runs). A signal cancels a run: the ioctl fails with EINTR and ret[] holds
 * CANCEL's reply with ret[0] = CANCELLED.
 * Before SETUP: ENODEV.
 */
struct tzwasm_ioc_call {
	__u64 regs[8];
	__u64 ret[4];
};

#define TZWASM_IOC_SETUP _IOWR(TZWASM_IOC_MAGIC, 0, struct tzwasm_ioc_setup)
#define TZWASM_IOC_CALL _IOWR(TZWASM_IOC_MAGIC, 1, struct tzwasm_ioc_call)

/* Function ids (docs/protocol.md, smc/src/call.rs). Yielding ids have bit 31 clear. */
#define TZWASM_FN_CALL_UID 0xBF00FF01u
#define TZWASM_FN_GET_INFO 0xF2000000u
#define TZWASM_FN_NULL 0xF2000001u
#define TZWASM_FN_SHM_REGISTER 0x72000100u
#define TZWASM_FN_SHM_UNREGISTER 0x72000101u
#define TZWASM_FN_SESSION_OPEN 0x72000102u
#define TZWASM_FN_SESSION_CLOSE 0x72000103u
#define TZWASM_FN_LOAD 0x72000104u
#define TZWASM_FN_RUN 0x72000105u
#define TZWASM_FN_RESUME 0x72000106u
#define TZWASM_FN_CANCEL 0x72000107u
#define TZWASM_FN_UNLOAD 0x72000108u
#define TZWASM_FN_STATS 0xF2000109u
#define TZWASM_FN_ATTEST 0x7200010Au
#define TZWASM_FN_RECEIPT 0x7200010Bu

/* Statuses in x0 (signed). */
#define TZWASM_SUCCESS 0
#define TZWASM_OUTPUT_PENDING 1
#define TZWASM_INTERRUPTED 2
#define TZWASM_INPUT_PENDING 3
#define TZWASM_FILE_REQUEST 4
#define TZWASM_NOT_SUPPORTED (-1)
#define TZWASM_NOT_REQUIRED (-2)
#define TZWASM_INVALID_PARAMETER (-3)
#define TZWASM_BUSY (-256)
#define TZWASM_OUT_OF_MEMORY (-257)
#define TZWASM_BAD_STATE (-258)
#define TZWASM_BAD_ADDRESS (-259)
#define TZWASM_OVERLAP (-260)
#define TZWASM_NO_SUCH_HANDLE (-261)
#define TZWASM_NO_RESOURCES (-262)
#define TZWASM_QUOTA_TOO_SMALL (-263)
#define TZWASM_QUOTA_TOO_LARGE (-264)
#define TZWASM_BAD_MODULE (-265)
#define TZWASM_TRAPPED (-266)
#define TZWASM_CANCELLED (-267)
#define TZWASM_INTERNAL (-268)
/* Fail-stop: the secure world stopped after an internal error; every call answers this. */
#define TZWASM_FAILED (-269)

/*
 * tzwasm's Trusted OS Call UID, 418c105d-a132-4a02-889d-0fb9b8e96588, as w0..w3 (the UUID's
 * bytes in RFC 4122 order packed little-endian into each word; smc/src/uid.rs).
 */
#define TZWASM_UID_W0 0x5d108c41u
#define TZWASM_UID_W1 0x024a32a1u
#define TZWASM_UID_W2 0xb90f9d88u
#define TZWASM_UID_W3 0x8865e9b8u

#endif /* TZWASM_IOCTL_H */
