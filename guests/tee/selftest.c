/*
 * tee-selftest: the tzwasm imports called from a real module inside the secure world, with
 * good and hostile arguments. Prints one line per check and a summary:
 *   "tee-selftest: N passed, M failed"
 * Exit code 0 only if every check passed. With the argument "no-identity" it expects every
 * call to answer ENOTSUP instead (a device without a secret).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tzwasm.h"

enum { OK = 0, BADMSG = 9, FAULT = 21, INVAL = 28, NOBUFS = 42, NOTSUP = 58 };

static int passed, failed;

static void check(const char *what, int32_t got, int32_t want)
{
	if (got == want) {
		passed++;
		printf("ok   %s\n", what);
	} else {
		failed++;
		printf("FAIL %s: errno %d, expected %d\n", what, got, want);
	}
}

static uint8_t nonce[64], user[300], token[TZWASM_MAX_TOKEN], data[256], blob[512], out[512];
static uint32_t len;

/* Addresses outside linear memory: near the 4 GiB end (wasm32 pointers are offsets). */
#define WILD ((void *)(uintptr_t)0xfffff000u)
#define WRAP ((void *)(uintptr_t)0xfffffff0u)

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "no-identity") == 0) {
		check("attest without identity", tzwasm_attest(nonce, 32, user, 0, token, sizeof token, &len), NOTSUP);
		check("seal without identity", tzwasm_seal(data, 16, blob, sizeof blob, &len), NOTSUP);
		printf("tee-selftest: %d passed, %d failed\n", passed, failed);
		return failed != 0;
	}
	memset(nonce, 0x4e, sizeof nonce);
	memcpy(data, "a secret worth sealing", 22);

	/* attest */
	check("attest, nonce 32", tzwasm_attest(nonce, 32, user, 32, token, sizeof token, &len), OK);
	check("attest token looks like COSE_Sign1 (tag 18)", token[0] == 0xd2 && len > 300 && len <= TZWASM_MAX_TOKEN ? OK : -1, OK);
	check("attest, nonce 48", tzwasm_attest(nonce, 48, user, 0, token, sizeof token, &len), OK);
	check("attest, nonce 64", tzwasm_attest(nonce, 64, user, 256, token, sizeof token, &len), OK);
	check("attest, nonce 31", tzwasm_attest(nonce, 31, user, 0, token, sizeof token, &len), INVAL);
	check("attest, 257 bytes of user data", tzwasm_attest(nonce, 32, user, 257, token, sizeof token, &len), INVAL);
	check("attest, wild nonce", tzwasm_attest(WILD, 32, user, 0, token, sizeof token, &len), FAULT);
	check("attest, wrapping user data", tzwasm_attest(nonce, 32, WRAP, 64, token, sizeof token, &len), FAULT);
	check("attest, wild token buffer", tzwasm_attest(nonce, 32, user, 0, WILD, 4096, &len), FAULT);
	check("attest, wild length pointer", tzwasm_attest(nonce, 32, user, 0, token, sizeof token, WILD), FAULT);
	check("attest, token over the nonce", tzwasm_attest(token, 32, user, 0, token, sizeof token, &len), INVAL);
	check("attest, length inside the token", tzwasm_attest(nonce, 32, user, 0, token, sizeof token, (uint32_t *)(token + 8)), INVAL);
	len = 0;
	check("attest, small buffer", tzwasm_attest(nonce, 32, user, 0, token, 100, &len), NOBUFS);
	check("attest, small buffer says the size", len > 100 && len <= TZWASM_MAX_TOKEN ? OK : -1, OK);

	/* seal / unseal */
	uint32_t blob_len = 0, out_len = 0;
	check("seal", tzwasm_seal(data, 22, blob, sizeof blob, &blob_len), OK);
	check("seal, blob length", blob_len == 22 + TZWASM_SEAL_OVERHEAD ? OK : -1, OK);
	check("unseal", tzwasm_unseal(blob, blob_len, out, sizeof out, &out_len), OK);
	check("unseal gives the data back", out_len == 22 && memcmp(out, data, 22) == 0 ? OK : -1, OK);
	check("seal twice gives another blob", tzwasm_seal(data, 22, blob + 128, 128, &len) == OK && memcmp(blob, blob + 128, blob_len) != 0 ? OK : -1, OK);
	blob[40] ^= 1;
	memset(out, 0x55, sizeof out);
	check("unseal, one bit changed", tzwasm_unseal(blob, blob_len, out, sizeof out, &out_len), BADMSG);
	check("unseal, nothing of the data left", out[0] == 0 && out[21] == 0 ? OK : -1, OK);
	blob[40] ^= 1;
	check("unseal, truncated", tzwasm_unseal(blob, blob_len - 1, out, sizeof out, &out_len), BADMSG);
	check("unseal, shorter than a blob", tzwasm_unseal(blob, 10, out, sizeof out, &out_len), BADMSG);
	check("unseal, intact again", tzwasm_unseal(blob, blob_len, out, sizeof out, &out_len), OK);
	check("seal, wild data", tzwasm_seal(WILD, 16, blob, sizeof blob, &len), FAULT);
	check("seal, wrapping blob", tzwasm_seal(data, 16, WRAP, 64, &len), FAULT);
	check("seal, blob over the data", tzwasm_seal(data, 64, data + 8, 128, &len), INVAL);
	check("seal, too much data", tzwasm_seal(data, TZWASM_MAX_SEAL_DATA + 1, blob, sizeof blob, &len), INVAL);
	check("seal, small blob", tzwasm_seal(data, 22, blob, 30, &len), NOBUFS);
	check("unseal, wild blob", tzwasm_unseal(WILD, 100, out, sizeof out, &len), FAULT);
	check("unseal, output over the blob", tzwasm_unseal(blob, blob_len, blob + 4, sizeof out, &len), INVAL);
	check("unseal, small output", tzwasm_unseal(blob, blob_len, out, 21, &len), NOBUFS);

	printf("tee-selftest: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
