/*
 * tzwasm iwasm driver: runs a WAMR AOT file with WAMR 2.4.3's own AOT-only runtime, through the
 * public wasm_export.h API. It is the reference the aot-loader is compared against; a test tool,
 * never part of the firmware.
 *
 *   iwasm [options] file.aot [args...]          run the WASI command (_start)
 *   iwasm [options] -f name file.aot [args...]  call export `name`, args parsed by type,
 *                                               results printed as WAMR prints them (0x2a:i32)
 *
 * Output contract (relied on by tools/wamr/corpus-expected.sh):
 *   - the guest's stdout/stderr go straight to fds 1/2 (WAMR's WASI layer);
 *   - on a trap, "Exception: <message>" goes to stderr (unless --quiet-trap) and the message
 *     alone to the --trap-out file; the exit code is 1;
 *   - otherwise the exit code is the WASI exit code (proc_exit's value, 0 if _start returns);
 *     the process status keeps only its low 8 bits, --exit-out=<file> gets all 32.
 *   - load/instantiate errors: "iwasm: ..." on stderr, exit code 2.
 *
 * Preopened directories, with upstream iwasm's meaning (WAMR's own WASI layer does the work,
 * through the dir_list / map_dir_list parameters of wasm_runtime_set_wasi_args):
 *   --dir=DIR            host directory DIR, preopened under the name DIR exactly as written
 *                        (--dir=. gives the guest ".", --dir=/tmp/x gives "/tmp/x");
 *   --map-dir=GUEST::HOST host directory HOST, preopened under the name GUEST.
 * At most 8 of each, like upstream iwasm. Preopen descriptors are numbered from 3 in that
 * order: all --dir entries first, then all --map-dir entries. A directory that cannot be
 * opened fails the instantiation (exit code 2).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "wasm_export.h"

#define MAX_ENV 64
#define MAX_DIRS 8 /* per kind, as upstream iwasm */

/*
 * qemu-user (Debian bookworm's 7.2) fails mprotect(addr, 0, ...) with ENOMEM where Linux
 * returns 0. WAMR calls it with length 0 when it instantiates a 0-page linear memory, so
 * every memory-less module failed to instantiate under qemu-aarch64. The link wraps mprotect
 * (-Wl,--wrap=mprotect) and this gives length 0 the Linux meaning.
 */
int __real_mprotect(void *addr, size_t len, int prot);
int __wrap_mprotect(void *addr, size_t len, int prot);
int
__wrap_mprotect(void *addr, size_t len, int prot)
{
    if (len == 0) {
        if ((uintptr_t)addr & 4095) {
            errno = EINVAL;
            return -1;
        }
        return 0;
    }
    return __real_mprotect(addr, len, prot);
}

static void
usage(FILE *out)
{
    fputs("usage: iwasm [options] [-f export] file.aot [args...]\n"
          "  -f <name>            call export <name> with the args instead of running _start\n"
          "  --env=KEY=VALUE      add a WASI environment variable (repeatable)\n"
          "  --dir=DIR            preopen host directory DIR; the guest sees it as DIR (max 8)\n"
          "  --map-dir=GUEST::HOST  preopen host directory HOST as GUEST (max 8)\n"
          "  --stack-size=<n>     WAMR exec_env stack in bytes (default 65536)\n"
          "  --heap-size=<n>      WAMR app heap inserted into linear memory (default 0)\n"
          "  --trap-out=<file>    write the trap message (without 'Exception: ') to <file>\n"
          "  --quiet-trap         do not print 'Exception: ...' on stderr\n"
          "  --exit-out=<file>    write the full 32-bit WASI exit code (1 on a trap) to <file>\n"
          "  -v=0..4              WAMR log level (default 0: fatal only, keeps stdout clean)\n",
          out);
}

/* env.host_add "(ii)i": used by the aot_invoke_native tests. */
static int32_t
host_add(wasm_exec_env_t exec_env, int32_t a, int32_t b)
{
    (void)exec_env;
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* env.host_trap "(i)": raises an exception from native code. */
static void
host_trap(wasm_exec_env_t exec_env, int32_t code)
{
    char msg[64];
    snprintf(msg, sizeof(msg), "host_trap(%d) called", code);
    wasm_runtime_set_exception(wasm_runtime_get_module_inst(exec_env), msg);
}

static NativeSymbol env_natives[] = {
    { "host_add", (void *)host_add, "(ii)i", NULL },
    { "host_trap", (void *)host_trap, "(i)", NULL },
};

/* The file is copied into an RWX mapping: WAMR runs XIP files in place. */
static uint8_t *
read_file(const char *path, uint32_t *size_out, size_t *map_size_out)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;
    size_t map_size;

    if (!f) {
        fprintf(stderr, "iwasm: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0
        || (unsigned long)len > UINT32_MAX / 2) {
        fprintf(stderr, "iwasm: cannot size %s\n", path);
        goto out;
    }
    map_size = ((size_t)len + 4095) & ~(size_t)4095;
    if (!map_size)
        map_size = 4096;
    buf = mmap(NULL, map_size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
               -1, 0);
    if (buf == MAP_FAILED) {
        buf = NULL;
        fprintf(stderr, "iwasm: mmap: %s\n", strerror(errno));
        goto out;
    }
    if (len && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "iwasm: short read on %s\n", path);
        munmap(buf, map_size);
        buf = NULL;
        goto out;
    }
    *size_out = (uint32_t)len;
    *map_size_out = map_size;
out:
    fclose(f);
    return buf;
}

static bool
parse_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(s, &end, 0);
    if (!*s || *end || errno || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

int
main(int argc, char **argv)
{
    const char *func_name = NULL, *trap_out = NULL, *exit_out = NULL, *path;
    const char *env[MAX_ENV], *dirs[MAX_DIRS], *map_dirs[MAX_DIRS];
    uint32_t env_count = 0, dir_count = 0, map_dir_count = 0, stack_size = 64 * 1024, heap_size = 0, log_level = 0, size = 0;
    bool quiet_trap = false, ok;
    RuntimeInitArgs init_args;
    uint8_t *buf = NULL;
    size_t map_size = 0;
    wasm_module_t module = NULL;
    wasm_module_inst_t inst = NULL;
    char error_buf[256];
    const char *exception;
    uint32_t exit_code = 2;
    int i, ret = 2;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-f")) {
            if (++i >= argc)
                goto bad;
            func_name = argv[i];
        }
        else if (!strncmp(a, "--env=", 6)) {
            if (env_count == MAX_ENV || !strchr(a + 6, '=')) {
                fprintf(stderr, "iwasm: bad or too many --env (max %d KEY=VALUE)\n", MAX_ENV);
                return 2;
            }
            env[env_count++] = a + 6;
        }
        else if (!strncmp(a, "--dir=", 6)) {
            if (!a[6] || dir_count == MAX_DIRS) {
                fprintf(stderr, "iwasm: empty or too many --dir (max %d)\n", MAX_DIRS);
                return 2;
            }
            dirs[dir_count++] = a + 6;
        }
        else if (!strncmp(a, "--map-dir=", 10)) {
            /* WAMR splits at the first "::" and fails the instantiation without one. */
            if (!a[10] || map_dir_count == MAX_DIRS) {
                fprintf(stderr, "iwasm: empty or too many --map-dir (max %d)\n", MAX_DIRS);
                return 2;
            }
            map_dirs[map_dir_count++] = a + 10;
        }
        else if (!strncmp(a, "--stack-size=", 13)) {
            if (!parse_u32(a + 13, &stack_size))
                goto bad;
        }
        else if (!strncmp(a, "--heap-size=", 12)) {
            if (!parse_u32(a + 12, &heap_size))
                goto bad;
        }
        else if (!strncmp(a, "--trap-out=", 11))
            trap_out = a + 11;
        else if (!strncmp(a, "--exit-out=", 11))
            exit_out = a + 11;
        else if (!strcmp(a, "--quiet-trap"))
            quiet_trap = true;
        else if (!strncmp(a, "-v=", 3)) {
            if (!parse_u32(a + 3, &log_level) || log_level > 4)
                goto bad;
        }
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        else
            goto bad;
    }
    if (i >= argc)
        goto bad;
    path = argv[i];
    /* The guest's argv[0] is the file name, as with upstream iwasm; -f gets only the rest. */

    memset(&init_args, 0, sizeof(init_args));
    init_args.mem_alloc_type = Alloc_With_System_Allocator;
    if (!wasm_runtime_full_init(&init_args)) {
        fprintf(stderr, "iwasm: runtime init failed\n");
        return 2;
    }
    wasm_runtime_set_log_level((log_level_t)log_level);
    if (!wasm_runtime_register_natives("env", env_natives,
                                       sizeof(env_natives) / sizeof(env_natives[0]))) {
        fprintf(stderr, "iwasm: registering env natives failed\n");
        goto out;
    }
    if (!(buf = read_file(path, &size, &map_size)))
        goto out;
    if (!(module = wasm_runtime_load(buf, size, error_buf, sizeof(error_buf)))) {
        fprintf(stderr, "iwasm: load %s: %s\n", path, error_buf);
        goto out;
    }
    wasm_runtime_set_wasi_args(module, dirs, dir_count, map_dirs, map_dir_count, env, env_count,
                               argv + i, argc - i);
    if (!(inst = wasm_runtime_instantiate(module, stack_size, heap_size, error_buf,
                                          sizeof(error_buf)))) {
        fprintf(stderr, "iwasm: instantiate %s: %s\n", path, error_buf);
        goto out;
    }

    if (func_name)
        ok = wasm_application_execute_func(inst, func_name, argc - i - 1, argv + i + 1);
    else
        ok = wasm_application_execute_main(inst, argc - i, argv + i);
    fflush(stdout);

    exception = wasm_runtime_get_exception(inst);
    if (!ok || exception) {
        const char *msg = exception ? exception : "Exception: (none reported)";
        if (!strncmp(msg, "Exception: ", 11))
            msg += 11;
        if (!quiet_trap)
            fprintf(stderr, "Exception: %s\n", msg);
        if (trap_out) {
            FILE *t = fopen(trap_out, "w");
            if (t) {
                fprintf(t, "%s\n", msg);
                fclose(t);
            }
        }
        exit_code = 1;
    }
    else
        exit_code = wasm_runtime_get_wasi_exit_code(inst);
    ret = (int)(exit_code & 0xff);
    if (exit_out) {
        FILE *t = fopen(exit_out, "w");
        if (t) {
            fprintf(t, "%u\n", exit_code);
            fclose(t);
        }
    }

out:
    if (inst)
        wasm_runtime_deinstantiate(inst);
    if (module)
        wasm_runtime_unload(module);
    if (buf)
        munmap(buf, map_size);
    wasm_runtime_destroy();
    return ret;

bad:
    usage(stderr);
    return 2;
}
