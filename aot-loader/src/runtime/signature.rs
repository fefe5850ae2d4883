//! The native signatures WAMR 2.4.3 registers for WASI in the compiler process
//! (`libc_wasi_wrapper.c`), which decide how generated code calls an import: when an import's
//! module is `wasi_snapshot_preview1` or `wasi_unstable`, its name is in this table and its
//! wasm type matches the signature, wamrc calls `func_ptrs[i]` directly with the C signature
//! (`exec_env` first, `*` and `$` arguments already converted to native pointers by
//! `aot_check_app_addr_and_convert`); otherwise it calls `aot_invoke_native` with argument
//! cells.
//!
//! Signature letters: `i` i32, `I` i64, `f` f32, `F` f64, `*` pointer (size from a following
//! `~` argument, else 1), `~` size of the preceding pointer, `$` NUL-terminated string.

use crate::module::{FuncType, ValType};

/// WASI functions and their WAMR signatures, as registered by WAMR 2.4.3.
pub const WASI_SIGNATURES: &[(&str, &str)] = &[
    ("args_get", "(**)i"),
    ("args_sizes_get", "(**)i"),
    ("clock_res_get", "(i*)i"),
    ("clock_time_get", "(iI*)i"),
    ("environ_get", "(**)i"),
    ("environ_sizes_get", "(**)i"),
    ("fd_prestat_get", "(i*)i"),
    ("fd_prestat_dir_name", "(i*~)i"),
    ("fd_close", "(i)i"),
    ("fd_datasync", "(i)i"),
    ("fd_pread", "(i*iI*)i"),
    ("fd_pwrite", "(i*iI*)i"),
    ("fd_read", "(i*i*)i"),
    ("fd_renumber", "(ii)i"),
    ("fd_seek", "(iIi*)i"),
    ("fd_tell", "(i*)i"),
    ("fd_fdstat_get", "(i*)i"),
    ("fd_fdstat_set_flags", "(ii)i"),
    ("fd_fdstat_set_rights", "(iII)i"),
    ("fd_sync", "(i)i"),
    ("fd_write", "(i*i*)i"),
    ("fd_advise", "(iIIi)i"),
    ("fd_allocate", "(iII)i"),
    ("path_create_directory", "(i*~)i"),
    ("path_link", "(ii*~i*~)i"),
    ("path_open", "(ii*~iIIi*)i"),
    ("fd_readdir", "(i*~I*)i"),
    ("path_readlink", "(i*~*~*)i"),
    ("path_rename", "(i*~i*~)i"),
    ("fd_filestat_get", "(i*)i"),
    ("fd_filestat_set_times", "(iIIi)i"),
    ("fd_filestat_set_size", "(iI)i"),
    ("path_filestat_get", "(ii*~*)i"),
    ("path_filestat_set_times", "(ii*~IIi)i"),
    ("path_symlink", "(*~i*~)i"),
    ("path_unlink_file", "(i*~)i"),
    ("path_remove_directory", "(i*~)i"),
    ("poll_oneoff", "(**i*)i"),
    ("proc_exit", "(i)"),
    ("proc_raise", "(i)i"),
    ("random_get", "(*~)i"),
    ("sock_accept", "(ii*)i"),
    ("sock_addr_local", "(i*)i"),
    ("sock_addr_remote", "(i*)i"),
    ("sock_addr_resolve", "($$**i*)i"),
    ("sock_bind", "(i*)i"),
    ("sock_close", "(i)i"),
    ("sock_connect", "(i*)i"),
    ("sock_get_broadcast", "(i*)i"),
    ("sock_get_keep_alive", "(i*)i"),
    ("sock_get_linger", "(i**)i"),
    ("sock_get_recv_buf_size", "(i*)i"),
    ("sock_get_recv_timeout", "(i*)i"),
    ("sock_get_reuse_addr", "(i*)i"),
    ("sock_get_reuse_port", "(i*)i"),
    ("sock_get_send_buf_size", "(i*)i"),
    ("sock_get_send_timeout", "(i*)i"),
    ("sock_get_tcp_fastopen_connect", "(i*)i"),
    ("sock_get_tcp_keep_idle", "(i*)i"),
    ("sock_get_tcp_keep_intvl", "(i*)i"),
    ("sock_get_tcp_no_delay", "(i*)i"),
    ("sock_get_tcp_quick_ack", "(i*)i"),
    ("sock_get_ip_multicast_loop", "(ii*)i"),
    ("sock_get_ip_multicast_ttl", "(i*)i"),
    ("sock_get_ip_ttl", "(i*)i"),
    ("sock_get_ipv6_only", "(i*)i"),
    ("sock_listen", "(ii)i"),
    ("sock_open", "(iii*)i"),
    ("sock_recv", "(i*ii**)i"),
    ("sock_recv_from", "(i*ii**)i"),
    ("sock_send", "(i*ii*)i"),
    ("sock_send_to", "(i*ii**)i"),
    ("sock_set_broadcast", "(ii)i"),
    ("sock_set_keep_alive", "(ii)i"),
    ("sock_set_linger", "(iii)i"),
    ("sock_set_recv_buf_size", "(ii)i"),
    ("sock_set_recv_timeout", "(iI)i"),
    ("sock_set_reuse_addr", "(ii)i"),
    ("sock_set_reuse_port", "(ii)i"),
    ("sock_set_send_buf_size", "(ii)i"),
    ("sock_set_send_timeout", "(iI)i"),
    ("sock_set_tcp_fastopen_connect", "(ii)i"),
    ("sock_set_tcp_keep_idle", "(ii)i"),
    ("sock_set_tcp_keep_intvl", "(ii)i"),
    ("sock_set_tcp_no_delay", "(ii)i"),
    ("sock_set_tcp_quick_ack", "(ii)i"),
    ("sock_set_ip_multicast_loop", "(iii)i"),
    ("sock_set_ip_multicast_ttl", "(ii)i"),
    ("sock_set_ip_add_membership", "(i*i)i"),
    ("sock_set_ip_drop_membership", "(i*i)i"),
    ("sock_set_ip_ttl", "(ii)i"),
    ("sock_set_ipv6_only", "(ii)i"),
    ("sock_shutdown", "(ii)i"),
    ("sched_yield", "()i"),
];

/// True for the module names WAMR registers its WASI functions under.
pub fn is_wasi_module(module: &str) -> bool {
    module == "wasi_snapshot_preview1" || module == "wasi_unstable"
}

/// The WAMR signature generated code uses for import `module.name` of type `ty`, if wamrc
/// calls it directly (see the module docs).
pub fn direct_signature(module: &str, name: &str, ty: &FuncType) -> Option<&'static str> {
    if !is_wasi_module(module) {
        return None;
    }
    let sig = WASI_SIGNATURES.iter().find(|(n, _)| *n == name)?.1;
    matches(sig, ty).then_some(sig)
}

/// The parameter letters of a signature (between the parentheses).
pub fn params(sig: &str) -> &str {
    let inner = sig.strip_prefix('(').unwrap_or(sig);
    inner.split(')').next().unwrap_or("")
}

/// WAMR's `check_symbol_signature`: each letter must match the wasm type.
pub fn matches(sig: &str, ty: &FuncType) -> bool {
    let p = params(sig);
    let ret = sig.rsplit(')').next().unwrap_or("");
    let letter_ok = |c: char, t: ValType| match c {
        'i' | '*' | '~' | '$' => t == ValType::I32,
        'I' => t == ValType::I64,
        'f' => t == ValType::F32,
        'F' => t == ValType::F64,
        _ => false,
    };
    if p.chars().count() != ty.params.len() || ret.chars().count() != ty.results.len() {
        return false;
    }
    p.chars()
        .zip(ty.params.iter())
        .all(|(c, &t)| letter_ok(c, t))
        && ret
            .chars()
            .zip(ty.results.iter())
            .all(|(c, &t)| letter_ok(c, t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn fd_write_is_direct_with_pointer_arguments() {
        let ty = FuncType {
            params: vec![ValType::I32; 4],
            results: vec![ValType::I32],
        };
        assert_eq!(
            direct_signature("wasi_snapshot_preview1", "fd_write", &ty),
            Some("(i*i*)i")
        );
        assert_eq!(params("(i*i*)i"), "i*i*");
        assert_eq!(direct_signature("env", "fd_write", &ty), None);
        let wrong = FuncType {
            params: vec![ValType::I32; 3],
            results: vec![ValType::I32],
        };
        assert_eq!(direct_signature("wasi_unstable", "fd_write", &wrong), None);
        let exit = FuncType {
            params: vec![ValType::I32],
            results: vec![],
        };
        assert_eq!(
            direct_signature("wasi_snapshot_preview1", "proc_exit", &exit),
            Some("(i)")
        );
        let clock = FuncType {
            params: vec![ValType::I32, ValType::I64, ValType::I32],
            results: vec![ValType::I32],
        };
        assert!(direct_signature("wasi_snapshot_preview1", "clock_time_get", &clock).is_some());
    }
}
