;; env_import: imports host functions from module "env" (registered by iwasm and by the
;; aot-loader host runner): host_add "(ii)i" and host_trap "(i)".
(module
  (import "env" "host_add" (func $host_add (param i32 i32) (result i32)))
  (import "env" "host_trap" (func $host_trap (param i32)))
  (func (export "call_host_add") (param i32 i32) (result i32)
    (call $host_add (local.get 0) (local.get 1)))
  (func (export "add_three") (param i32 i32 i32) (result i32)
    (call $host_add (call $host_add (local.get 0) (local.get 1)) (local.get 2)))
  (func (export "call_host_trap") (param i32) (result i32)
    (call $host_trap (local.get 0))
    (i32.const -1))
)
