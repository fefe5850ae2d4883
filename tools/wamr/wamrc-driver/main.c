/*
 * tzwasm wamrc driver: compiles a .wasm module to a WAMR AOT file (or an object file or LLVM
 * IR) with the WAMR 2.4.3 compiler library, through the public aot_export.h interface only.
 *
 * Option names and defaults follow upstream wamrc so that command lines carry over:
 *   opt level 3, size level 3, bounds checks 2 (platform default), stack bounds checks 2,
 *   SIMD, bulk memory and reference types on.
 * Written for tzwasm; a test and build tool, never part of the firmware.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Support.h>

#include "aot_export.h"
#include "wasm_export.h"

#define MAX_CUSTOM_SECTIONS 64
#define MAX_LLVM_OPTIONS 32

static void
usage(FILE *out)
{
    fputs(
        "usage: wamrc [options] -o <output> <input.wasm>\n"
        "  --target=<arch>            x86_64, aarch64, aarch64v8, arm..., riscv64... (help: list)\n"
        "                             default: the host, with the host CPU\n"
        "  --target-abi=<abi>         gnu, eabi, msvc, ... (default: gnu)\n"
        "  --cpu=<cpu>                e.g. cortex-a53, cortex-a57, skylake (help: list)\n"
        "  --cpu-features=<+a,-b>     extra LLVM CPU features (+help: list)\n"
        "  --opt-level=0..3           LLVM optimisation level (default 3)\n"
        "  --size-level=0..3          code model: 0 large, 1 medium, 2 kernel, 3 small (default 3)\n"
        "                             aarch64 accepts only 0 and 3\n"
        "  --bounds-checks=0|1        software linear-memory bounds checks (default: off on\n"
        "                             64-bit targets, which rely on guard pages)\n"
        "  --stack-bounds-checks=0|1  native stack overflow checks (default: platform)\n"
        "  --format=aot|object|llvmir-unopt|llvmir-opt   output format (default aot)\n"
        "  --xip                      execute-in-place: indirect mode, no LLVM intrinsics\n"
        "  --enable-indirect-mode     call runtime helpers through a table\n"
        "  --disable-llvm-intrinsics  lower intrinsics to runtime helpers\n"
        "  --disable-simd             reject SIMD instructions\n"
        "  --disable-ref-types        reject reference-types instructions\n"
        "  --disable-bulk-memory      reject bulk-memory instructions\n"
        "  --disable-aux-stack-check  no check of the wasm shadow (aux) stack\n"
        "  --enable-tail-call         accept return_call\n"
        "  --enable-multi-thread      shared memory and atomics\n"
        "  --enable-extended-const    extended constant expressions\n"
        "  --enable-dump-call-stack   emit stack frames for call-stack dumps\n"
        "  --enable-gc                the GC proposal\n"
        "  --emit-custom-sections=a,b copy these wasm custom sections into the AOT file\n"
        "  --mllvm=<option>           pass an option to LLVM (repeatable)\n"
        "  -v=0..4                    log level (default 2)\n"
        "  --version                  print the WAMR version\n",
        out);
}

static uint8_t *
read_file(const char *path, uint32_t *size_out)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;

    if (!f) {
        fprintf(stderr, "wamrc: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "wamrc: cannot size %s\n", path);
        goto out;
    }
    if ((unsigned long)len > UINT32_MAX - 16) {
        fprintf(stderr, "wamrc: %s is too large (%ld bytes)\n", path, len);
        goto out;
    }
    buf = malloc(len ? (size_t)len : 1);
    if (!buf) {
        fprintf(stderr, "wamrc: out of memory reading %s\n", path);
        goto out;
    }
    if (len && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "wamrc: short read on %s\n", path);
        free(buf);
        buf = NULL;
        goto out;
    }
    *size_out = (uint32_t)len;
out:
    fclose(f);
    return buf;
}

/* "--name=value": returns value, or NULL when arg is not this option. */
static const char *
opt_value(const char *arg, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) == 0 && arg[n] == '=')
        return arg + n + 1;
    return NULL;
}

static bool
parse_uint(const char *s, uint32_t max, uint32_t *out)
{
    char *end;
    unsigned long v;

    if (!*s)
        return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool
parse_bool01(const char *s, uint32_t *out)
{
    return parse_uint(s, 1, out);
}

int
main(int argc, char **argv)
{
    AOTCompOption option;
    RuntimeInitArgs init_args;
    const char *out_path = NULL, *in_path = NULL, *v;
    char *custom_sections[MAX_CUSTOM_SECTIONS];
    char *custom_list = NULL;
    const char *llvm_argv[MAX_LLVM_OPTIONS + 1];
    int llvm_argc = 1;
    uint32_t log_level = 2, custom_count = 0, wasm_size = 0;
    uint8_t *wasm = NULL;
    wasm_module_t module = NULL;
    aot_comp_data_t comp_data = NULL;
    aot_comp_context_t comp_ctx = NULL;
    char error_buf[256];
    bool ok = false, list_help = false;
    int i;

    memset(&option, 0, sizeof(option));
    option.opt_level = 3;
    option.size_level = 3;
    option.output_format = AOT_FORMAT_FILE;
    option.bounds_checks = 2;       /* 2: let the compiler pick the platform default */
    option.stack_bounds_checks = 2; /* same */
    option.enable_simd = true;
    option.enable_aux_stack_check = true;
    option.enable_bulk_memory = true;
    option.enable_ref_types = true;
    aot_call_stack_features_init_default(&option.call_stack_features);
    llvm_argv[0] = "wamrc";

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        else if (!strcmp(a, "--version")) {
            uint32_t major, minor, patch;
            wasm_runtime_get_version(&major, &minor, &patch);
            printf("wamrc %u.%u.%u (tzwasm driver, LLVM %d)\n", major, minor, patch,
                   LLVM_VERSION_MAJOR_FOR_DRIVER);
            return 0;
        }
        else if (!strcmp(a, "-o")) {
            if (++i >= argc) {
                fprintf(stderr, "wamrc: -o needs a file name\n");
                return 2;
            }
            out_path = argv[i];
        }
        else if ((v = opt_value(a, "--target"))) {
            option.target_arch = (char *)v;
            list_help |= !strcmp(v, "help");
        }
        else if ((v = opt_value(a, "--target-abi"))) {
            option.target_abi = (char *)v;
            list_help |= !strcmp(v, "help");
        }
        else if ((v = opt_value(a, "--cpu"))) {
            option.target_cpu = (char *)v;
            list_help |= !strcmp(v, "help");
        }
        else if ((v = opt_value(a, "--cpu-features"))) {
            option.cpu_features = (char *)v;
            list_help |= !strcmp(v, "+help");
        }
        else if ((v = opt_value(a, "--opt-level"))) {
            if (!parse_uint(v, 3, &option.opt_level))
                goto bad_value;
        }
        else if ((v = opt_value(a, "--size-level"))) {
            if (!parse_uint(v, 3, &option.size_level))
                goto bad_value;
        }
        else if ((v = opt_value(a, "--bounds-checks"))) {
            if (!parse_bool01(v, &option.bounds_checks))
                goto bad_value;
        }
        else if ((v = opt_value(a, "--stack-bounds-checks"))) {
            if (!parse_bool01(v, &option.stack_bounds_checks))
                goto bad_value;
        }
        else if ((v = opt_value(a, "--format"))) {
            if (!strcmp(v, "aot"))
                option.output_format = AOT_FORMAT_FILE;
            else if (!strcmp(v, "object"))
                option.output_format = AOT_OBJECT_FILE;
            else if (!strcmp(v, "llvmir-unopt"))
                option.output_format = AOT_LLVMIR_UNOPT_FILE;
            else if (!strcmp(v, "llvmir-opt"))
                option.output_format = AOT_LLVMIR_OPT_FILE;
            else
                goto bad_value;
        }
        else if (!strcmp(a, "--xip")) {
            option.is_indirect_mode = true;
            option.disable_llvm_intrinsics = true;
        }
        else if (!strcmp(a, "--enable-indirect-mode"))
            option.is_indirect_mode = true;
        else if (!strcmp(a, "--disable-llvm-intrinsics"))
            option.disable_llvm_intrinsics = true;
        else if (!strcmp(a, "--disable-simd"))
            option.enable_simd = false;
        else if (!strcmp(a, "--enable-simd"))
            option.enable_simd = true;
        else if (!strcmp(a, "--disable-ref-types"))
            option.enable_ref_types = false;
        else if (!strcmp(a, "--disable-bulk-memory"))
            option.enable_bulk_memory = false;
        else if (!strcmp(a, "--disable-aux-stack-check"))
            option.enable_aux_stack_check = false;
        else if (!strcmp(a, "--enable-tail-call"))
            option.enable_tail_call = true;
        else if (!strcmp(a, "--enable-multi-thread")) {
            option.enable_bulk_memory = true;
            option.enable_thread_mgr = true;
        }
        else if (!strcmp(a, "--enable-extended-const"))
            option.enable_extended_const = true;
        else if (!strcmp(a, "--enable-dump-call-stack"))
            option.aux_stack_frame_type = AOT_STACK_FRAME_TYPE_STANDARD;
        else if (!strcmp(a, "--enable-gc")) {
            option.aux_stack_frame_type = AOT_STACK_FRAME_TYPE_STANDARD;
            option.enable_gc = true;
        }
        else if ((v = opt_value(a, "--emit-custom-sections"))) {
            char *p, *save = NULL;
            free(custom_list);
            custom_list = strdup(v);
            if (!custom_list) {
                fprintf(stderr, "wamrc: out of memory\n");
                return 1;
            }
            custom_count = 0;
            for (p = strtok_r(custom_list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
                if (custom_count == MAX_CUSTOM_SECTIONS) {
                    fprintf(stderr, "wamrc: at most %d custom sections\n", MAX_CUSTOM_SECTIONS);
                    return 2;
                }
                custom_sections[custom_count++] = p;
            }
        }
        else if ((v = opt_value(a, "--mllvm"))) {
            if (llvm_argc > MAX_LLVM_OPTIONS) {
                fprintf(stderr, "wamrc: at most %d --mllvm options\n", MAX_LLVM_OPTIONS);
                return 2;
            }
            llvm_argv[llvm_argc++] = v;
        }
        else if ((v = opt_value(a, "-v"))) {
            if (!parse_uint(v, 4, &log_level))
                goto bad_value;
        }
        else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "wamrc: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
        else if (!in_path)
            in_path = a;
        else {
            fprintf(stderr, "wamrc: more than one input file (%s, %s)\n", in_path, a);
            return 2;
        }
        continue;
    bad_value:
        fprintf(stderr, "wamrc: bad value in %s\n", a);
        usage(stderr);
        return 2;
    }

    if (!list_help && (!in_path || !out_path)) {
        usage(stderr);
        return 2;
    }
    if (!list_help && !strcmp(in_path, out_path)) {
        fprintf(stderr, "wamrc: input and output are the same file\n");
        return 2;
    }

    /* 2.4.3 splits memory.copy/fill and the multi-byte call_indirect table index into their
     * own switches (matching WASM_ENABLE_BULK_MEMORY_OPT / _CALL_INDIRECT_OVERLONG); they
     * follow bulk memory and reference types, as in upstream wamrc. */
    option.enable_bulk_memory_opt = option.enable_bulk_memory;
    option.enable_call_indirect_overlong = option.enable_ref_types;
    if (option.enable_gc)
        option.enable_ref_types = false;
    if (custom_count) {
        option.custom_sections = custom_sections;
        option.custom_sections_count = custom_count;
    }

    memset(&init_args, 0, sizeof(init_args));
    init_args.mem_alloc_type = Alloc_With_System_Allocator;
    if (!wasm_runtime_full_init(&init_args)) {
        fprintf(stderr, "wamrc: runtime init failed\n");
        return 1;
    }
    wasm_runtime_set_log_level((log_level_t)log_level);
    if (llvm_argc > 1)
        LLVMParseCommandLineOptions(llvm_argc, llvm_argv, "wamrc");

    if (list_help) {
        /* The target/cpu "help" listings are printed while the compile context is created;
         * any module will do, so use an empty one. */
        static uint8_t empty_module[8] = { 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00 };
        wasm = empty_module;
        wasm_size = sizeof(empty_module);
    }
    else if (!(wasm = read_file(in_path, &wasm_size)))
        goto out;

    if (wasm_size < 8 || memcmp(wasm, "\0asm", 4) != 0) {
        fprintf(stderr, "wamrc: %s is not a wasm binary (no \\0asm magic)\n", in_path);
        goto out;
    }
    if (!(module = wasm_runtime_load(wasm, wasm_size, error_buf, sizeof(error_buf)))) {
        fprintf(stderr, "wamrc: %s: %s\n", list_help ? "(empty)" : in_path, error_buf);
        goto out;
    }
    if (!(comp_data = aot_create_comp_data(module, option.target_arch, option.enable_gc))) {
        fprintf(stderr, "wamrc: %s\n", aot_get_last_error());
        goto out;
    }
    if (!(comp_ctx = aot_create_comp_context(comp_data, &option))) {
        if (list_help) {
            ok = true; /* the listing was printed */
            goto out;
        }
        fprintf(stderr, "wamrc: %s\n", aot_get_last_error());
        goto out;
    }
    if (list_help) {
        ok = true;
        goto out;
    }
    if (!aot_compile_wasm(comp_ctx)) {
        fprintf(stderr, "wamrc: %s: %s\n", in_path, aot_get_last_error());
        goto out;
    }

    switch (option.output_format) {
        case AOT_FORMAT_FILE:
            ok = aot_emit_aot_file(comp_ctx, comp_data, out_path);
            break;
        case AOT_OBJECT_FILE:
            ok = aot_emit_object_file(comp_ctx, out_path);
            break;
        default:
            ok = aot_emit_llvm_file(comp_ctx, out_path);
            break;
    }
    if (!ok) {
        fprintf(stderr, "wamrc: writing %s: %s\n", out_path, aot_get_last_error());
        remove(out_path);
    }

out:
    if (comp_ctx)
        aot_destroy_comp_context(comp_ctx);
    if (comp_data)
        aot_destroy_comp_data(comp_data);
    if (module)
        wasm_runtime_unload(module);
    if (wasm && !list_help)
        free(wasm);
    free(custom_list);
    wasm_runtime_destroy();
    return ok ? 0 : 1;
}
