;; traps: one export per trap kind WAMR reports, plus the non-trapping neighbours, run with
;; `iwasm -f <export> [args]` (see guests/manifest.txt). Memory: 1 page, max 4, grown by grow_*.
(module
  (type $v_i (func (result i32)))
  (type $i_i (func (param i32) (result i32)))
  (memory 1 4)
  (table $t 6 funcref)
  ;; slot 3 stays null; 4 and 5 are the recursive functions, called indirectly so LLVM cannot
  ;; turn the recursion into a loop.
  (elem (table $t) (i32.const 0) func $const7 $ident $const9)
  (elem (table $t) (i32.const 4) func $recurse $forever)

  (func $const7 (type $v_i) (i32.const 7))
  (func $ident (type $i_i) (local.get 0))
  (func $const9 (type $v_i) (i32.const 9))

  (func (export "unreachable") (unreachable))
  (func (export "div_s") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "div_u") (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1)))
  (func (export "rem_s") (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))
  (func (export "div_s64") (param i64 i64) (result i64) (i64.div_s (local.get 0) (local.get 1)))
  (func (export "rem_u64") (param i64 i64) (result i64) (i64.rem_u (local.get 0) (local.get 1)))
  (func (export "trunc_f32_s") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
  (func (export "trunc_f64_u") (param f64) (result i32) (i32.trunc_f64_u (local.get 0)))
  (func (export "trunc_f64_s64") (param f64) (result i64) (i64.trunc_f64_s (local.get 0)))
  (func (export "trunc_sat_f64_s") (param f64) (result i32) (i32.trunc_sat_f64_s (local.get 0)))

  (func (export "load_i32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load_u8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load_i64_off") (param i32) (result i64) (i64.load offset=0xfffffff0 (local.get 0)))
  (func (export "load_v128") (param i32) (result v128) (v128.load (local.get 0)))
  (func (export "store_i32") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "store_i64") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "store_f64_off") (param i32 f64) (f64.store offset=65536 (local.get 0) (local.get 1)))
  (func (export "store_load") (param i32 i32) (result i32)
    (i32.store (local.get 0) (local.get 1))
    (i32.load (local.get 0)))

  ;; memory.grow, then use the new page; grow_oob then goes one past the new end.
  (func (export "grow_access") (result i32 i32)
    (local $old i32)
    (local.set $old (memory.grow (i32.const 1)))
    (i32.store (i32.sub (i32.const 131072) (i32.const 4)) (i32.const 0x5a5a1234))
    (local.get $old)
    (i32.load (i32.const 131068)))
  (func (export "grow_oob") (result i32)
    (drop (memory.grow (i32.const 1)))
    (i32.load (i32.const 131069)))
  ;; memory.grow results: 1 -> 1, +2 -> 2, +5 -> -1 (max 4), size 4, +0 -> 4, +1 -> -1
  (func (export "grow_sequence") (result i32 i32 i32 i32 i32 i32)
    (memory.grow (i32.const 1))
    (memory.grow (i32.const 2))
    (memory.grow (i32.const 5))
    (memory.size)
    (memory.grow (i32.const 0))
    (memory.grow (i32.const 1)))
  (func (export "grow_huge") (result i32) (memory.grow (i32.const 0x10000)))

  ;; call_indirect through type () -> i32: slot 0 ok, 1 type mismatch, 3 null, >=6 undefined.
  (func (export "call_v_i") (param i32) (result i32) (call_indirect $t (type $v_i) (local.get 0)))

  ;; Deep recursion with no memory use: only the native stack grows.
  (type $i64x4_i64 (func (param i64 i64 i64 i64) (result i64)))
  (func $recurse (export "recurse") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.sub (local.get 0)
                     (call_indirect $t (type $i_i) (i32.sub (local.get 0) (i32.const 1)) (i32.const 4))))))
  (func $forever (export "recurse_forever") (param i64 i64 i64 i64) (result i64)
    (i64.sub (local.get 3)
             (call_indirect $t (type $i64x4_i64)
               (i64.add (local.get 0) (i64.const 1)) (local.get 2) (local.get 1) (local.get 0)
               (i32.const 5))))
)
