"""Prospect import and scoring (issue 16, SPEC L1/L3): 100,000 rows of a messy spreadsheet CSV, target < 60 s.

The CSV is generated as prospect lists come: Excel's byte order mark and `;`, Argentine numbers written every way
(`011 15-4444-5555`, `0351 15 …`, `+54 9 …`, `(0291) 15 …`, `+54 11 …` without the 9, spreadsheet `.0`), 2 % of rows
repeating an earlier number in another form (merged), 1 % broken numbers and 0.5 % blank rows. On each database (a
throwaway SQLite file; a throwaway PostgreSQL database, dropped at the end), migrated:
1. `import_prospects` end to end (read, normalise, dedupe, set-wise inserts): what `leadmaster leads import` and
   the upload run; wall time, CPU time of this process, rows/s;
2. the same file again: every row now matches an existing contact (the merge path);
3. `rescore` of every contact (the nightly job without WhatsApp checks): read, score, write what changed.

Usage: .venv/bin/python bench/leads.py [--rows 100000] [--skip-postgres]
Ends with one JSON line {"bench": "leads", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
for path in (str(REPO_ROOT), str(BENCH_DIR)):
    if path not in sys.path:
        sys.path.insert(0, path)

import ingest  # noqa: E402  (bench/ingest.py: PostgreSQL database helpers)

from app.database import upgrade_to_head  # noqa: E402
from services.database import Database  # noqa: E402
from services.leads import guess_mapping, import_prospects, read_prospect_file, rescore  # noqa: E402

DEFAULT_POSTGRES = os.environ.get('LEADMASTER_TEST_POSTGRES_URL', 'postgresql+asyncpg://postgres@127.0.0.1:5432/test')
TARGET_SECONDS = 60.0
AREAS = (('11', 8), ('351', 7), ('341', 7), ('291', 7), ('261', 7), ('223', 7))
FREE = ('gmail.com', 'hotmail.com', 'yahoo.com.ar')


def _written(area: str, local: str, style: int) -> str:
    """One Argentine mobile written the way a person or a spreadsheet might."""
    half = len(local) - 4
    if style == 0:
        return f'0{area} 15-{local[:half]}-{local[half:]}'
    if style == 1:
        return f'+54 9 {area} {local[:half]} {local[half:]}'
    if style == 2:
        return f'(0{area}) 15 {local[:half]}-{local[half:]}'
    if style == 3:
        return f'+54 {area} {local}'  # without the 9
    if style == 4:
        return f'549{area}{local}.0'  # a spreadsheet took it for a figure
    return f'{area} {local[:half]}-{local[half:]}'


def write_messy_csv(path: Path, rows: int, *, seed: int = 16) -> dict[str, int]:
    rng = random.Random(seed)
    expected = {'unique': 0, 'repeated': 0, 'broken': 0, 'blank': 0}
    seen: list[tuple[str, str]] = []
    lines = ['Razón social;Contacto;Celular;Correo;Sitio web;Rubro']
    for index in range(rows):
        roll = rng.random()
        if roll < 0.005:
            lines.append(';;;;;')
            expected['blank'] += 1
            continue
        if roll < 0.015:
            lines.append(f'Empresa {index};Persona {index};{rng.choice(["hola", "15", "0000", "-"])};;;')
            expected['broken'] += 1
            continue
        if roll < 0.035 and seen:
            area, local = rng.choice(seen)
            expected['repeated'] += 1
        else:
            area, digits = rng.choice(AREAS)
            local = f'{index + 10 ** (digits - 1) * 4:0{digits}d}'[-digits:]  # distinct per row
            local = str(4 + index % 3) + local[1:]  # subscriber numbers valid in every area start with 4-6
            seen.append((area, local))
            expected['unique'] += 1
        email = f'contacto{index}@{rng.choice(FREE)}' if index % 3 else f'ventas@empresa{index}.com.ar'
        web = f'www.empresa{index}.com.ar' if index % 4 == 0 else ''
        name = f'Persona Ñandú {index}'
        label = rng.choice(['taller', 'flota', ''])
        lines.append(f'Empresa {index} S.R.L.;{name};{_written(area, local, index % 6)};{email};{web};{label}')
    path.write_bytes(('\r\n'.join(lines) + '\r\n').encode('utf-8-sig'))
    return expected


async def run_on(url: str, file: Path, kind: str) -> dict[str, Any]:
    db = Database.from_url(url)
    try:
        await upgrade_to_head(db)
        table = read_prospect_file(file)
        mapping = guess_mapping(table.headers)
        figures: dict[str, Any] = {'database': kind}
        for label in ('first', 'again'):
            cpu, wall = time.process_time(), time.perf_counter()
            result = await import_prospects(db, table, mapping=mapping)
            wall = time.perf_counter() - wall
            figures[label] = {
                'seconds': round(wall, 2),
                'cpu_seconds': round(time.process_time() - cpu, 2),
                'rows_per_second': round(len(table.rows) / wall),
                'created': result.created,
                'merged': result.merged,
                'invalid': len(result.invalid),
                'blank': result.blank,
                'meets_target': wall < TARGET_SECONDS,
            }
            print(f'{kind} import ({label}): {figures[label]}', flush=True)
        cpu, wall = time.process_time(), time.perf_counter()
        scored = await rescore(db)
        wall = time.perf_counter() - wall
        figures['rescore'] = {
            'seconds': round(wall, 2),
            'cpu_seconds': round(time.process_time() - cpu, 2),
            'contacts': scored.scored,
            'changed': scored.changed,
            'contacts_per_second': round(scored.scored / wall),
        }
        print(f'{kind} rescore: {figures["rescore"]}', flush=True)
        return figures
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rows', type=int, default=100_000)
    parser.add_argument('--skip-postgres', action='store_true')
    args = parser.parse_args()
    report: dict[str, Any] = {
        'bench': 'leads',
        'rows': args.rows,
        'target_seconds': TARGET_SECONDS,
        'load_average_start': [round(x, 2) for x in os.getloadavg()],
        'cpus': os.cpu_count(),
    }
    with tempfile.TemporaryDirectory(prefix='bench-leads-') as work:
        file = Path(work) / 'prospectos.csv'
        report['file'] = write_messy_csv(file, args.rows)
        report['file_megabytes'] = round(file.stat().st_size / 1e6, 1)
        print(f'{file.name}: {args.rows} rows, {report["file_megabytes"]} MB, {report["file"]}', flush=True)
        results = [await run_on(f'sqlite+aiosqlite:///{work}/leads.sqlite3', file, 'sqlite')]
        if not args.skip_postgres:
            name = f'bench_leads_{os.getpid()}'
            url = await ingest.recreate_database(DEFAULT_POSTGRES, name)
            try:
                results.append(await run_on(url, file, 'postgresql'))
            finally:
                await ingest.drop_database(DEFAULT_POSTGRES, name)
    report['results'] = results
    report['load_average_end'] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, ensure_ascii=False))


if __name__ == '__main__':
    asyncio.run(main())
