;; Writes 10 MiB to stdout (byte k = (k mod 65536) mod 251), retrying short writes: the
;; "module writing 10 MiB through a 4 KiB ring" case of the system tests.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start")
    (local $i i32) (local $n i32) (local $ptr i32) (local $left i32) (local $wrote i32)
    (loop $fill
      (i32.store8 (i32.add (i32.const 0x10000) (local.get $i))
                  (i32.rem_u (local.get $i) (i32.const 251)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 65536))))
    (loop $chunk
      (local.set $ptr (i32.const 0x10000))
      (local.set $left (i32.const 65536))
      (loop $write
        (i32.store (i32.const 0) (local.get $ptr))
        (i32.store (i32.const 4) (local.get $left))
        (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
          (then unreachable))
        (local.set $wrote (i32.load (i32.const 8)))
        (local.set $ptr (i32.add (local.get $ptr) (local.get $wrote)))
        (local.set $left (i32.sub (local.get $left) (local.get $wrote)))
        (br_if $write (i32.ne (local.get $left) (i32.const 0))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $chunk (i32.lt_u (local.get $n) (i32.const 160))))))
