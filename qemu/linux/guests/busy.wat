;; Computes for a few seconds under QEMU without output (2^30 xorshift64 steps, which no
;; compiler can fold away), then prints one character of the result and a newline: the finite
;; probe of `make linux-test`'s cancel-loop case (does a process on the same CPU keep running
;; while module code runs?).
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (local $n i64) (local $x i64)
    (local.set $x (i64.const 0x9e3779b97f4a7c15))
    (loop $again
      (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 13))))
      (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 7))))
      (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 17))))
      (local.set $n (i64.add (local.get $n) (i64.const 1)))
      (br_if $again (i64.lt_u (local.get $n) (i64.const 0x40000000))))
    (i32.store8 (i32.const 16)
      (i32.add (i32.const 0x41) (i32.wrap_i64 (i64.and (local.get $x) (i64.const 15)))))
    (i32.store8 (i32.const 17) (i32.const 10))
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 2))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
