/*
 * tzwasm.h: the `tzwasm` import module for WebAssembly guests of the tzwasm secure world
 * (C with clang --target=wasm32-wasi). See docs/attestation.md for the full description.
 *
 * Every function returns a WASI errno (0 on success; __WASI_ERRNO_* in <wasi/api.h>) and
 * stores the length of what it produced at *out_len:
 *   EINVAL (28)  a length outside the limits, or an output overlapping an input
 *   EFAULT (21)  a range outside the module's memory
 *   ENOBUFS (42) the output buffer is too small: *out_len is the size needed
 *   ENOTSUP (58) the device has no identity (no provisioned device secret)
 *   EBADMSG (9)  unseal: the blob was changed or truncated, or belongs to another module or
 *                device; the data buffer is zeroed
 */
#ifndef TZWASM_H
#define TZWASM_H

#include <stdint.h>

/* Limits. */
#define TZWASM_MAX_USER_DATA 256u        /* user data bound into a token */
#define TZWASM_MAX_TOKEN 2048u           /* a buffer of this size holds any token */
#define TZWASM_MAX_SEAL_DATA (64u << 10) /* data sealed by one call */
#define TZWASM_SEAL_OVERHEAD 44u         /* blob length = data length + this */

#define TZWASM_IMPORT(name) __attribute__((import_module("tzwasm"), import_name(name)))

/*
 * A PSA attestation token (COSE_Sign1, ES256) signed by the secure world for this module,
 * binding `nonce` (32, 48 or 64 bytes) and up to 256 bytes of `user_data` (e.g. a public key
 * the module generated), with client ID 1.
 */
TZWASM_IMPORT("attest")
int32_t tzwasm_attest(const uint8_t *nonce, uint32_t nonce_len, const uint8_t *user_data,
                      uint32_t user_data_len, uint8_t *token, uint32_t token_cap,
                      uint32_t *token_len);

/* Seals `data` so that only this module (same measurement) on this device can open it. */
TZWASM_IMPORT("seal")
int32_t tzwasm_seal(const uint8_t *data, uint32_t data_len, uint8_t *blob, uint32_t blob_cap,
                    uint32_t *blob_len);

/* Opens a blob sealed by tzwasm_seal. */
TZWASM_IMPORT("unseal")
int32_t tzwasm_unseal(const uint8_t *blob, uint32_t blob_len, uint8_t *data, uint32_t data_cap,
                      uint32_t *data_len);

#endif
