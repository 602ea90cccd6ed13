"""Fingerprints for code-scanning reports: one per finding, unique within the report."""

from __future__ import annotations

import hashlib


def unique_fingerprints(findings) -> list[str]:
    """The finding's own (context) fingerprint; a repeat of an identical finding in the same context
    gets the fingerprint hashed with its occurrence number, so two results never collapse into one."""
    seen: dict[str, int] = {}
    out = []
    for f in findings:
        context = f.fingerprint or f"{f.code}{f.message}"
        base = hashlib.sha256(f"{f.path}\0{context}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.append(base if n == 0 else hashlib.sha256(f"{base}:{n}".encode()).hexdigest()[:32])
    return out
