(module
  (import "env" "g" (global $gi i32))
  (global $a i32 (i32.add (global.get $gi) (i32.mul (i32.const 3) (i32.const 5))))
  (global $b i64 (i64.sub (i64.const 10) (i64.const 3)))
  (memory 1)
  (data (i32.add (global.get $gi) (i32.const 8)) "x")
  (func (export "f") (result i32) (global.get $a)))
