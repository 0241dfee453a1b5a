"""`ofa demo`: the whole Once-for-All idea on Fashion-MNIST, from training to exported networks."""
