"""Rule implementations, one module per family. Each check is a short query over `analysis/`."""
