;; Issue 11, reproduced case 1: an export whose first parameter is an externref, run with
;; `tzwasm run --function f externref-arg.aot -- abcé 1 2`. The secure world used to slice the
;; argument text at byte 4, inside "é", and panic with its locks held (every later call then
;; answered BUSY and the calling Linux CPU hung). It must answer with a clear error (or what
;; iwasm gives), and the next run must work. The body uses `ref.is_null` (1 for a null
;; reference) because wamrc 2.4.3 turns reference types off for a module whose only reference
;; is in a signature, and then refuses that signature.
(module
  (func (export "f") (param externref i32 i32) (result i32)
    (i32.add (ref.is_null (local.get 0)) (i32.add (local.get 1) (local.get 2)))))
