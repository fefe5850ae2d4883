;; A WASI command that asks for 11 MiB of random bytes in one random_get call (all of its
;; linear memory: 12 MiB plus the payload's 1 MiB module stack do not fit the 14.4 MiB pool
;; next to the payload's 1 MiB reserve), then checks that every byte was written: linear memory starts zeroed, and
;; an 8-byte word the secure world's DRBG leaves at zero has a chance of 2^-64. Exit code 0
;; when all is well, 1 if random_get failed, 2 if a word stayed zero. The bounded-latency
;; check (normal-world/test-client/src/checks/latency.rs) interrupts the call with a
;; normal-world timer and RESUMEs it.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 176)
  (func (export "_start")
    (local $p i32)
    (if (call $random_get (i32.const 0) (i32.const 11534336))
      (then (call $proc_exit (i32.const 1))))
    (block $done
      (loop $scan
        (br_if $done (i32.ge_u (local.get $p) (i32.const 11534336)))
        (if (i64.eqz (i64.load (local.get $p)))
          (then (call $proc_exit (i32.const 2))))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $scan)))))
