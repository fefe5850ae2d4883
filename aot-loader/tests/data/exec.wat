;; Run natively by tests/exec_x86_64.rs: a br_table (jump or lookup table in .rodata), an f64
;; constant (constant pool), recursive calls between functions, linear memory and a global
;; in the instance.
(module
  (memory 1)
  (global $k (mut i32) (i32.const 1000))
  (func $sel (export "sel") (param i32) (result i32)
    (block (block (block (block
      (br_table 0 1 2 3 (local.get 0)))
      (return (i32.const 7)))
      (return (i32.const 300)))
      (return (i32.const 5)))
    (i32.const 44))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_s (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "run") (param i32) (result i32)
    (i32.store (i32.const 64) (local.get 0))
    (i32.add
      (i32.add (i32.add (call $sel (i32.load (i32.const 64))) (global.get $k))
               (call $fib (i32.const 10)))
      (i32.trunc_f64_s (f64.mul (f64.convert_i32_s (local.get 0)) (f64.const 1.5))))))
