# TF-A build (being written)
