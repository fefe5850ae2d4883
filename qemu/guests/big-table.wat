;; big-table: a 1,000,000-slot funcref table and a table.copy over all of it (issue 11's
;; reproduced case: under a 13 MiB heap quota the copy used to exhaust the secure pool through
;; uncounted helper memory and panic the secure world). The table lives in the instance's data
;; block (8 MB of it), so the quota has to hold it; the copy itself allocates nothing.
(module
  (type $v_i (func (result i32)))
  (table $t 1000000 funcref)
  (elem (table $t) (i32.const 0) func $f7)
  (func $f7 (result i32) (i32.const 7))
  ;; Shift the whole table up one slot (overlapping: copied backwards), then call slot 1.
  (func (export "copy_all") (result i32)
    (table.copy $t $t (i32.const 1) (i32.const 0) (i32.const 999999))
    (call_indirect $t (type $v_i) (i32.const 1)))
)
