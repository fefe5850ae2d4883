#!/usr/bin/env python3
"""Writes a WAT module of N functions of K mixing steps each (deterministic): compiled by wamrc
for aarch64 it gives an .aot file of about 1 MiB (1000 x 50), the module the load figure
measures (LOAD vs SHA-256 of the same bytes). Usage: gen-big.py N K > big.wat"""
import sys
n=int(sys.argv[1]); ops=int(sys.argv[2])
out=['(module','  (memory (export "memory") 1)']
for i in range(n):
    body=[]
    for k in range(ops):
        c=(i*7919+k*104729)&0x7fffffff
        body.append(f'    local.get 0 i64.const {c} i64.mul i64.const {k+1} i64.rotl local.get 0 i64.xor local.set 0')
    out.append(f'  (func $f{i} (param i64) (result i64)\n'+'\n'.join(body)+'\n    local.get 0)')
calls=' '.join(f'call $f{i}' for i in range(n))
out.append(f'  (func (export "_start") i64.const 1 {calls} drop)')
out.append(')')
print('\n'.join(out))
