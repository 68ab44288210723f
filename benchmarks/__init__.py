"""Speed and memory of ffbp against PyTorch, scikit-learn and the GEMM bound (`make bench`)."""
