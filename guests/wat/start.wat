;; start: a start function that runs at instantiation (before _start), active data at the
;; edge of memory, exported memory, and a _start that reports what the start function did.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $calls (mut i32) (i32.const 0))
  (data (i32.const 65520) "end-of-memory!!\n")
  (data (i32.const 64) "start ran: ?\n")
  (func $init
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store8 (i32.const 75) (i32.add (i32.const 48) (global.get $calls))))
  (start $init)
  (func $write (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (call $write (i32.const 64) (i32.const 13))
    (call $write (i32.const 65520) (i32.const 16)))
  (func (export "calls") (result i32) (global.get $calls))
)
