;; exports: typed exports for export-invocation tests (iwasm -f name args): every value type,
;; many parameters (some passed on the stack), multi-value results, no params / no results.
(module
  (func (export "nop"))
  (func (export "answer") (result i32) (i32.const 42))
  (func (export "add_i32") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "add_i64") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
  (func (export "mul_f32") (param f32 f32) (result f32) (f32.mul (local.get 0) (local.get 1)))
  (func (export "mul_f64") (param f64 f64) (result f64) (f64.mul (local.get 0) (local.get 1)))
  (func (export "neg_i32") (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0)))
  (func (export "mixed") (param i32 i64 f32 f64) (result f64)
    (f64.add (f64.add (f64.convert_i32_s (local.get 0)) (f64.convert_i64_s (local.get 1)))
             (f64.add (f64.promote_f32 (local.get 2)) (local.get 3))))
  (func (export "swap") (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
  (func (export "four") (param i32) (result i32 i64 f32 f64)
    (local.get 0)
    (i64.mul (i64.extend_i32_s (local.get 0)) (i64.const 0x100000000))
    (f32.div (f32.convert_i32_s (local.get 0)) (f32.const 4))
    (f64.sqrt (f64.convert_i32_u (local.get 0))))
  ;; 10 i64 and 10 f64 parameters: beyond the 8 argument registers of AAPCS64 / SysV.
  (func (export "sum20") (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
                                f64 f64 f64 f64 f64 f64 f64 f64 f64 f64) (result f64)
    (f64.add
      (f64.convert_i64_s
        (i64.add (i64.add (i64.add (i64.add (local.get 0) (local.get 1)) (i64.add (local.get 2) (local.get 3)))
                          (i64.add (i64.add (local.get 4) (local.get 5)) (i64.add (local.get 6) (local.get 7))))
                 (i64.mul (local.get 8) (local.get 9))))
      (f64.add
        (f64.add (f64.add (f64.add (local.get 10) (local.get 11)) (f64.add (local.get 12) (local.get 13)))
                 (f64.add (f64.add (local.get 14) (local.get 15)) (f64.add (local.get 16) (local.get 17))))
        (f64.mul (local.get 18) (local.get 19)))))
  (func (export "splat_i32") (param i32) (result v128) (i32x4.splat (local.get 0)))
  (func (export "v128_add") (param v128 v128) (result v128) (i32x4.add (local.get 0) (local.get 1)))
  (func $fib (export "fib") (param i32) (result i64)
    (if (result i64) (i32.lt_u (local.get 0) (i32.const 2))
      (then (i64.extend_i32_u (local.get 0)))
      (else (i64.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
)
