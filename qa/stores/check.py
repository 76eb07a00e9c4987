"""`qa check`: verify a local index folder (manifest, catalog, every live segment) and say what is damaged."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from qa.errors import StoreError
from qa.stores.base import CheckReport
from qa.stores.local import catalog
from qa.stores.local.arrays import read_arrays, verify_arrays
from qa.stores.manifest import MANIFEST, Manifest


def check_index(root: Path) -> CheckReport:
    """Read every file of the index at `root` (all of each segment, against its checksums) and report."""
    report = CheckReport(str(root))
    if not root.is_dir():
        raise StoreError(f"no index folder at {root}")
    manifest = _check_manifest(root, report)
    db = _check_catalog(root, report)
    if db is None:
        return report
    try:
        rows = catalog.live_segments(db, report.version)
        for row in rows:
            _check_segment(root, row, manifest, report)
        _check_chunks(db, report)
        live = {f"{row.id:08d}.seg" for row in rows}
    except sqlite3.DatabaseError as exc:
        report.bad(catalog.CATALOG, f"cannot be read: {exc}")
        return report
    finally:
        db.close()
    for path in sorted((root / "segments").glob("*")):
        if path.name.endswith(".tmp"):
            report.notes.append(f"segments/{path.name}: a temporary file left by an interrupted write (harmless; qa optimize removes it)")
        elif path.suffix == ".seg" and path.name not in live:
            report.notes.append(f"segments/{path.name}: not part of the current state (kept for older readers or left over)")
    return report


def _check_manifest(root: Path, report: CheckReport) -> Manifest | None:
    report.checked.append(MANIFEST)
    try:
        return Manifest.read(root)
    except (StoreError, TypeError, ValueError) as exc:
        report.bad(MANIFEST, str(exc))
        return None


def _check_catalog(root: Path, report: CheckReport) -> sqlite3.Connection | None:
    path = root / catalog.CATALOG
    report.checked.append(catalog.CATALOG)
    if not path.exists():
        report.bad(catalog.CATALOG, "missing: the index has no catalog")
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        problems = [row[0] for row in db.execute("PRAGMA integrity_check(20)")]
        if problems != ["ok"]:
            report.bad(catalog.CATALOG, "; ".join(problems))
            db.close()
            return None
        head = catalog.head(db)
    except sqlite3.DatabaseError as exc:
        report.bad(catalog.CATALOG, f"cannot be read: {exc}")
        return None
    report.version, report.articles, report.chunks = head.version, head.articles, head.chunks
    return db


def _check_segment(root: Path, row: catalog.SegmentRow, manifest: Manifest | None, report: CheckReport) -> None:
    name = f"segments/{row.id:08d}.seg"
    path = root / name
    report.checked.append(name)
    if not path.exists():
        report.bad(name, f"missing: the catalog lists it with {row.chunks} chunks")
        return
    problems = verify_arrays(path)
    if problems:
        report.bad(name, "; ".join(problems))
        return
    arrays, meta = read_arrays(path)
    ids, vectors = arrays.get("ids"), arrays.get("vectors")
    if ids is None or vectors is None:
        report.bad(name, "lacks its ids or vectors")
    elif len(ids) != row.chunks:
        report.bad(name, f"holds {len(ids)} chunks; the catalog says {row.chunks}")
    elif manifest and len(vectors) and vectors.shape[1] != manifest.dimension:
        report.bad(name, f"holds {vectors.shape[1]}-d vectors; the manifest says {manifest.dimension}")
    elif len(ids) > 1 and not bool((ids[1:] > ids[:-1]).all()):
        report.bad(name, "its chunk ids are out of order")
    if meta.get("ivf"):
        ivf = path.with_suffix(".ivf")
        report.checked.append(f"segments/{ivf.name}")
        if not ivf.exists():
            report.bad(f"segments/{ivf.name}", "missing: the segment's approximate index")


def _check_chunks(db: sqlite3.Connection, report: CheckReport) -> None:
    bad = db.execute(
        f"""SELECT a.id, c.idx FROM chunks c JOIN articles a ON a.key = c.article
            WHERE {catalog.LIVE} AND (c.start < 0 OR c."end" > length(a.text) OR c.start > c."end") LIMIT 5""",
        {"v": report.version},
    ).fetchall()
    if bad:
        report.bad(catalog.CATALOG, "chunk offsets outside their article's text: " + ", ".join(f"{a}#{i}" for a, i in bad))
