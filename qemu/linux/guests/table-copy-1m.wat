;; Issue 11, reproduced case 2: a plain module with a 1,000,000-slot funcref table that runs
;; table.copy over all of it, run with `--heap 13M`. The helper's working buffer used to come
;; from the pool outside the quota, exhausting it, and the failed allocation panicked. Now the
;; copy moves slots in place: the run must end cleanly (here: exit 0 after checking the slots;
;; `unreachable` traps if the copy went wrong), and the secure world must keep serving.
(module
  (memory (export "memory") 1)
  (table $t 1000000 1000000 funcref)
  (func $f)
  (elem (i32.const 0) func $f)
  (func (export "_start")
    ;; Overlapping (a memmove): slot k+1 = slot k for every k, so slots 0 and 1 hold $f.
    (table.copy $t $t (i32.const 1) (i32.const 0) (i32.const 999999))
    ;; The whole table onto itself.
    (table.copy $t $t (i32.const 0) (i32.const 0) (i32.const 1000000))
    (if (ref.is_null (table.get $t (i32.const 0))) (then unreachable))
    (if (ref.is_null (table.get $t (i32.const 1))) (then unreachable))
    (if (i32.eqz (ref.is_null (table.get $t (i32.const 2)))) (then unreachable))
    (if (i32.eqz (ref.is_null (table.get $t (i32.const 999999)))) (then unreachable))))
