"""The `--ray` options of `qa ingest` (encoding on a Ray cluster: qa.ray_ingest)."""

from __future__ import annotations

import argparse
from typing import Any


def add_ray_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("encoding on Ray (the [ray] extra)")
    g.add_argument("--ray", action="store_true", help="encode the chunks with Ray Data actors (a local Ray starts if none runs)")
    g.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="join this Ray cluster (default: $RAY_ADDRESS, else a local Ray)")
    g.add_argument("--ray-actors", type=int, default=None, metavar="N", help="encoder actors (default: one per CPU / threads)")
    g.add_argument("--ray-threads", type=int, default=1, metavar="T", help="encoder threads in each actor (default 1)")
    g.add_argument("--ray-cpus", type=int, default=None, metavar="C", help="CPUs of a local Ray (default: 2 or fewer)")


def ray_ingest_from_args(args: argparse.Namespace, items: Any, index: Any, settings: Any) -> Any:
    """Run `qa ingest --ray` with the parsed arguments; returns the IngestReport."""
    from qa.errors import ConfigError
    from qa.ray_ingest import ray_ingest

    for name in ("ray_actors", "ray_threads", "ray_cpus"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    return ray_ingest(items, index, model=args.model, backend=args.backend, settings=settings, address=args.ray_address,
                      num_cpus=args.ray_cpus, actors=args.ray_actors, threads=args.ray_threads, progress=not args.quiet)
