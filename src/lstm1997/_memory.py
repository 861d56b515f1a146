"""Memory: refuse what cannot fit, before allocating it (one estimate for the command line, the estimator
and the PyTorch module)."""

from __future__ import annotations

import os

__all__ = ["check_memory", "net_bytes", "available_memory", "fmt_bytes"]


def fmt_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.3g} EiB"  # pragma: no cover


def available_memory() -> int | None:
    """Bytes this process may still allocate: the machine's available memory (Linux: MemAvailable), and
    less under an address-space limit (ulimit -v). ``None`` when unknown."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = None
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            used = 0
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmSize:"):
                        used = int(line.split()[1]) * 1024
            left = max(soft - used, 0)
            avail = left if avail is None else min(avail, left)
    except (ImportError, OSError, ValueError, IndexError):
        pass
    return avail


def check_memory(need: float, what: str, fix: str) -> None:
    """Refuse (ValueError) a command whose estimated memory ``need`` exceeds what is available."""
    avail = available_memory()
    if avail is not None and need > avail:
        raise ValueError(f"{what} needs about {fmt_bytes(need)} of memory, more than the {fmt_bytes(avail)} "
                         f"available on this machine; {fix}")


def net_bytes(arch, exact_rtrl: bool = False) -> float:
    """Estimated bytes for a net of ``arch`` while it trains: weights, masks, snapshots, the truncated
    RTRL traces (LSTM), or exact RTRL's sensitivities (a baseline net); from the sizes alone, allocating
    nothing."""
    if hasattr(arch, "n_units"):                        # a conventional net (baselines, guessing)
        w = float(arch.n_units) * arch.n_src
        return 8.0 * (5 * w + (arch.n_units * w if exact_rtrl else 0))
    w = float(arch.n_hidden) * arch.n_src + float(arch.n_out) * arch.n_osrc
    return 8.0 * (5 * w + 2 * float(arch.n_cells) * arch.n_src)
