# QEMU runs (being written)
