;; bulk: passive and active data segments, memory.init / data.drop / memory.copy
;; (overlapping both ways) / memory.fill, and their out-of-bounds traps; sweeps of copy and
;; fill over every length 0..70 and every overlap -40..40 (the secure world runs memmove and
;; memset as its own S-EL0 routines: 16-byte loop, byte tail, forwards and backwards).
(module
  (memory 1 2)
  (data $active (i32.const 16) "active segment")
  (data $p1 "passive one: 0123456789")
  (data $p2 "\01\02\03\04\05\06\07\08")
  (func $sum (param $ptr i32) (param $len i32) (result i32)
    (local $h i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $len)))
        (local.set $h (i32.add (i32.mul (local.get $h) (i32.const 31))
                               (i32.load8_u (local.get $ptr))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (local.set $len (i32.sub (local.get $len) (i32.const 1)))
        (br $l)))
    (local.get $h))
  (func (export "active_sum") (result i32) (call $sum (i32.const 16) (i32.const 14)))
  (func (export "init_copy_fill") (result i32 i32 i32 i32)
    (memory.init $p1 (i32.const 1000) (i32.const 0) (i32.const 23))
    (memory.init $p2 (i32.const 2000) (i32.const 2) (i32.const 4))
    (data.drop $p1)
    (memory.copy (i32.const 1005) (i32.const 1000) (i32.const 18))  ;; overlap, dst > src
    (memory.copy (i32.const 2001) (i32.const 2002) (i32.const 3))   ;; overlap, dst < src
    (memory.fill (i32.const 3000) (i32.const 0xab) (i32.const 100))
    (call $sum (i32.const 1000) (i32.const 23))
    (call $sum (i32.const 2000) (i32.const 6))
    (call $sum (i32.const 3000) (i32.const 101))
    (i32.load (i32.const 2000)))
  (func (export "init_after_drop") (result i32)
    (data.drop $p1)
    (memory.init $p1 (i32.const 0) (i32.const 0) (i32.const 1))
    (i32.const 0))
  (func (export "init_zero_after_drop") (result i32)
    (data.drop $p1)
    (memory.init $p1 (i32.const 0) (i32.const 0) (i32.const 0))
    (i32.const 1))
  (func (export "fill_oob") (param i32) (result i32)
    (memory.fill (local.get 0) (i32.const 1) (i32.const 16))
    (i32.const 0))
  (func (export "copy_oob") (param i32 i32) (result i32)
    (memory.copy (local.get 0) (local.get 1) (i32.const 256))
    (i32.const 0))
  (func (export "copy_after_grow") (result i32 i32)
    (memory.grow (i32.const 1))
    (memory.copy (i32.const 70000) (i32.const 16) (i32.const 14))
    (call $sum (i32.const 70000) (i32.const 14)))

  ;; bytes [4096, 4352) = i * 7 + seed
  (func $pattern (param $seed i32)
    (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (i32.const 256)))
        (i32.store8 (i32.add (i32.const 4096) (local.get $i))
                    (i32.add (i32.mul (local.get $i) (i32.const 7)) (local.get $seed)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l))))
  ;; For n in 0..70 and d in -40..40: fresh pattern, copy n bytes from 4196 + (n & 7) to d
  ;; bytes away, fold the hash of the whole 256-byte area.
  (func (export "copy_sweep") (result i32)
    (local $n i32) (local $d i32) (local $h i32) (local $src i32)
    (block $dn
      (loop $ln
        (br_if $dn (i32.gt_u (local.get $n) (i32.const 70)))
        (local.set $src (i32.add (i32.const 4196) (i32.and (local.get $n) (i32.const 7))))
        (local.set $d (i32.const -40))
        (block $dd
          (loop $ld
            (br_if $dd (i32.gt_s (local.get $d) (i32.const 40)))
            (call $pattern (i32.add (local.get $n) (local.get $d)))
            (memory.copy (i32.add (local.get $src) (local.get $d)) (local.get $src)
                         (local.get $n))
            (local.set $h (i32.add (i32.mul (local.get $h) (i32.const 31))
                                   (call $sum (i32.const 4096) (i32.const 256))))
            (local.set $d (i32.add (local.get $d) (i32.const 1)))
            (br $ld)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $ln)))
    (local.get $h))
  ;; For n in 0..70 and a in 0..16: fresh pattern, fill n bytes at 4100 + a with n + a.
  (func (export "fill_sweep") (result i32)
    (local $n i32) (local $a i32) (local $h i32)
    (block $dn
      (loop $ln
        (br_if $dn (i32.gt_u (local.get $n) (i32.const 70)))
        (local.set $a (i32.const 0))
        (block $da
          (loop $la
            (br_if $da (i32.gt_u (local.get $a) (i32.const 16)))
            (call $pattern (local.get $n))
            (memory.fill (i32.add (i32.const 4100) (local.get $a))
                         (i32.add (local.get $n) (local.get $a)) (local.get $n))
            (local.set $h (i32.add (i32.mul (local.get $h) (i32.const 31))
                                   (call $sum (i32.const 4096) (i32.const 256))))
            (local.set $a (i32.add (local.get $a) (i32.const 1)))
            (br $la)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $ln)))
    (local.get $h))
)
