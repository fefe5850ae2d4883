;; A WASI command that never ends and never writes: the preemption checks run it and expect
;; INTERRUPTED at every normal-world interrupt until they CANCEL it.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $forever
      (br $forever))))
