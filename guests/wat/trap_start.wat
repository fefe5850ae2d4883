;; trap_start: a WASI command that prints (two iovecs in one fd_write), then traps in _start;
;; the output written before the trap must survive.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "before the trap, ")
  (data (i32.const 96) "second iovec\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 17))
    (i32.store (i32.const 8) (i32.const 96))
    (i32.store (i32.const 12) (i32.const 13))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 16)))
    (drop (i32.div_u (i32.const 1) (i32.load (i32.const 200)))))
)
