;; Native-stack depth for the `stack` case of linux-test: `rec N` recurses N calls deep and
;; returns f(N), f(0) = 0, f(n) = rotl(f(n-1), 1) xor n (not a sum: the compiler cannot turn the
;; recursion into a loop or a closed form). Every level is a native stack frame (no shadow
;; stack involved): depth 50000 needs more than the default 64 KiB and less than 4 MiB.
(module
  (func $rec (export "rec") (param $n i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n))
      (then (i64.const 0))
      (else
        (i64.xor (local.get $n)
          (i64.rotl (call $rec (i64.sub (local.get $n) (i64.const 1))) (i64.const 1)))))))
