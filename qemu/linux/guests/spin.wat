;; Loops forever after one line of output: the "a module that never ends" case of
;; `make linux-test` (cancelled by a signal; Linux must keep running meanwhile).
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "spinning\n")
  (func (export "_start")
    (local $n i64)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 9))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop $forever
      (local.set $n (i64.add (local.get $n) (i64.const 1)))
      (br $forever))))
