;; Parallel runs: `work N SEED` waits until the secure world has seen N CPUs executing module
;; code at the same moment (test builds answer that for WASI clock 0x7a570001,
;; tzwasm_smc::call::TEST_CLOCK_PEAK_RUNS), then does CPU-bound work on SEED and returns the
;; result, which the runtime prints. It traps if the clock is missing or the wait is long.
(module
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "work") (param $n i64) (param $seed i64) (result i64)
    (local $spins i64) (local $i i64) (local $h i64)
    (block $met
      (loop $wait
        (if (i32.ne (call $clock_time_get (i32.const 0x7a570001) (i64.const 0) (i32.const 0))
                    (i32.const 0))
          (then unreachable))
        (br_if $met (i64.ge_u (i64.load (i32.const 0)) (local.get $n)))
        (local.set $spins (i64.add (local.get $spins) (i64.const 1)))
        (br_if $wait (i64.lt_u (local.get $spins) (i64.const 20000000)))
        unreachable))
    (local.set $h (i64.xor (local.get $seed) (i64.const 0x4bf29ce484222325)))
    (loop $mix
      (local.set $h
        (i64.mul (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 29)))
                 (i64.const 0x100000001b3)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $mix (i64.lt_u (local.get $i) (i64.const 3000000))))
    (local.get $h))
  (func (export "_start")))
