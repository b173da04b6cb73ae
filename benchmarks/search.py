"""Forward address search: the tolerant engine (`cadastre.search`) against a plain `ILIKE`,
over a synthetic national address registry (200,000 addresses by default).

    .venv/bin/python -m benchmarks.search                  # 200,000 addresses
    .venv/bin/python -m benchmarks.search --addresses 50000 --queries 100

The registry is synthesised into the bench cluster of `var/bench-search` (its own embedded
cluster, migrated by the project's code): real Kyrgyz towns (the trunk road waypoints of
`demo/roads/routes.py`) times real Bishkek and Osh street names (`demo/city/names.py`) times
house numbers, written through the same street forms (`cadastre.streets`) and search keys
(`search.name_key`) as the demo's derived registry; the names table is rebuilt from it.

Three query classes, each from addresses drawn at random (seeded): `exact` (the Russian
label as stored, `Кара-Балта, улица Ленина, 12`), `translit` (the same in Latin letters,
`Kara-Balta, ulitsa Lenina, 12`) and `misspelt` (a letter of the street dropped, one of the
town doubled). Each query runs through `cadastre.search.search` as the public role (the
whole engine: key, names, streets, houses, codes), and as `ILIKE '%q%'` on the three labels.
Reported: p50/p95 in ms (client wall time on the unix socket) and how often the intended
address is the first result (`hit@1`) or among the first 10.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.data import open_database
from cadastre.names import refresh_names
from cadastre.search import search
from cadastre.streets import latin, street_name
from demo.city.names import BISHKEK_EW, BISHKEK_NS, OSH_EW, OSH_NS
from demo.roads.routes import PLACES
from layers.catalogue import Catalogue, load_catalogue

REPO = Path(__file__).resolve().parents[1]
STREETS_PER_TOWN = 60
TARGET_P95_MS = 20.0


@dataclass(frozen=True)
class Query:
    """One query of a class and the address it means."""

    cls: str
    text: str
    address_id: int


def street_pool() -> list[str]:
    """Real street names of Bishkek and Osh (Russian, with their type)."""
    return list(dict.fromkeys([*BISHKEK_NS, *BISHKEK_EW, *OSH_NS, *OSH_EW]))


def synthesise(conn: psycopg.Connection, catalogue: Catalogue, addresses: int) -> None:
    """Replace the registry with `addresses` synthetic addresses (see the module doc)."""
    towns = [(name, lon, lat) for name, (lon, lat) in PLACES.items() if " " not in name]
    streets = street_pool()[:STREETS_PER_TOWN]
    per_street = -(-addresses // (len(towns) * len(streets)))
    conn.execute("DELETE FROM cadastre.addresses")
    conn.execute("DELETE FROM search.streets")
    rows = []
    for t, (town, lon, lat) in enumerate(towns):
        for s, name_ru in enumerate(streets):
            name = street_name(name_ru)
            sid = t * len(streets) + s + 1
            rows.append((sid, town, latin(town), name_ru, name.ky, name.latin, lon, lat, s))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO search.streets (id, settlement_ky, settlement_ru, settlement_en, "
            "street_ru, street_ky, street_latin, key, head, address_count) "
            "VALUES (%(id)s, %(town)s, %(town)s, %(town_en)s, %(ru)s, %(ky)s, %(lat)s, "
            "search.name_key(%(town)s, %(town_en)s, %(ru)s, %(ky)s, %(lat)s), "
            "search.name_key(%(ru)s, %(ky)s, %(lat)s), 0)",
            [
                {"id": r[0], "town": r[1], "town_en": r[2], "ru": r[3], "ky": r[4], "lat": r[5]}
                for r in rows
            ],
        )
    conn.execute(
        "CREATE TEMPORARY TABLE street_points (id integer, lon float8, lat float8, k integer)"
    )
    with conn.cursor().copy("COPY street_points FROM STDIN") as copy:
        for r in rows:
            copy.write_row((r[0], r[6], r[7], r[8]))
    conn.execute(
        "INSERT INTO cadastre.addresses (oblast, settlement_ky, settlement_ru, settlement_en, "
        "street_ky, street_ru, street_latin, house_number, label_ky, label_ru, label_en, "
        "street_id, geom) "
        "SELECT 'Synthetic', s.settlement_ky, s.settlement_ru, s.settlement_en, s.street_ky, "
        "s.street_ru, s.street_latin, n, s.settlement_ky || ', ' || s.street_ky || ' ' || n, "
        "s.settlement_ru || ', ' || s.street_ru || ', ' || n, "
        "s.settlement_en || ', ' || s.street_latin || ' ' || n, s.id, "
        "ST_SetSRID(ST_MakePoint(p.lon + (p.k - 30) * 0.0006, p.lat + n * 0.00005), 4326) "
        "FROM search.streets AS s JOIN street_points AS p ON p.id = s.id, "
        "generate_series(1, %s) AS n",
        [per_street],
    )
    conn.execute(
        "UPDATE search.streets AS s SET address_count = t.n, first_address_id = t.f, "
        "min_lon = t.x0, min_lat = t.y0, max_lon = t.x1, max_lat = t.y1 FROM ("
        "SELECT street_id, count(*) AS n, min(id) AS f, min(ST_X(geom)) AS x0, "
        "min(ST_Y(geom)) AS y0, max(ST_X(geom)) AS x1, max(ST_Y(geom)) AS y1 "
        "FROM cadastre.addresses GROUP BY street_id) AS t WHERE t.street_id = s.id"
    )
    conn.commit()
    refresh_names(conn, catalogue)
    conn.execute("ANALYZE cadastre.addresses")
    conn.execute("ANALYZE search.streets")
    conn.commit()


def misspell(text: str, rng: random.Random) -> str:
    """One letter of the street dropped and one letter of the town doubled."""
    town, street, number = text.split(", ")
    words = street.split(" ")
    word = words[-1]
    if len(word) > 4:
        cut = rng.randrange(1, len(word) - 1)
        words[-1] = word[:cut] + word[cut + 1 :]
    twice = rng.randrange(1, len(town))
    return f"{town[:twice]}{town[twice - 1]}{town[twice:]}, {' '.join(words)}, {number}"


def queries(conn: psycopg.Connection, count: int, seed: int) -> list[Query]:
    """`count` queries of each class, from addresses drawn at random."""
    rng = random.Random(seed)
    total = conn.execute("SELECT max(id), min(id) FROM cadastre.addresses").fetchone()
    assert total and total[0], "no addresses"
    out = []
    while len(out) < 3 * count:
        wanted = rng.randint(total[1], total[0])
        row = conn.execute(
            "SELECT id, label_ru FROM cadastre.addresses WHERE id = %s", [wanted]
        ).fetchone()
        if not row:
            continue
        aid, label = row
        out += [
            Query("exact", label, aid),
            Query("translit", latin(label), aid),
            Query("misspelt", misspell(label, rng), aid),
        ]
    return out


async def run_engine(
    conninfo: str, catalogue: Catalogue, items: list[Query]
) -> list[tuple[Query, float, int | None]]:
    """Each query through the engine: (query, ms, rank of the intended address or None)."""
    out = []
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        for item in items[:5]:  # warm the caches and the session
            await search(conn, catalogue, item.text, "ru", 10)
        for item in items:
            started = time.perf_counter()
            hits = await search(conn, catalogue, item.text, "ru", 10)
            elapsed = (time.perf_counter() - started) * 1000
            ids = [h.feature_id for h in hits if h.collection == "addresses"]
            rank = ids.index(str(item.address_id)) if str(item.address_id) in ids else None
            out.append((item, elapsed, rank))
    return out


def run_ilike(conninfo: str, items: list[Query]) -> list[tuple[Query, float, int | None]]:
    """Each query as a plain `ILIKE '%q%'` on the three labels."""
    out = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for item in items:
            pattern = "%" + item.text.replace("%", r"\%").replace("_", r"\_") + "%"
            started = time.perf_counter()
            rows = conn.execute(
                "SELECT id FROM cadastre.addresses WHERE label_ru ILIKE %(p)s "
                "OR label_ky ILIKE %(p)s OR label_en ILIKE %(p)s LIMIT 10",
                {"p": pattern},
            ).fetchall()
            elapsed = (time.perf_counter() - started) * 1000
            ids = [r[0] for r in rows]
            out.append(
                (item, elapsed, ids.index(item.address_id) if item.address_id in ids else None)
            )
    return out


def summary(results: list[tuple[Query, float, int | None]]) -> dict[str, dict[str, Any]]:
    """p50/p95 and hit rates per query class."""
    table: dict[str, dict[str, Any]] = {}
    for cls in ("exact", "translit", "misspelt"):
        rows = [r for r in results if r[0].cls == cls]
        times = sorted(r[1] for r in rows)
        table[cls] = {
            "queries": len(rows),
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 2),
            "hit_at_1": round(sum(r[2] == 0 for r in rows) / len(rows), 3),
            "hit_at_10": round(sum(r[2] is not None for r in rows) / len(rows), 3),
        }
    return table


def main() -> None:
    """Synthesise (when needed), run both searches, print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--addresses", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=200, help="per class")
    parser.add_argument(
        "--ilike-queries",
        type=int,
        default=None,
        help="per class for the ILIKE baseline (default: --queries; it takes about 1.5 s each)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", type=Path, default=REPO / "var" / "bench-search")
    parser.add_argument("--reset", action="store_true", help="rebuild the bench cluster")
    args = parser.parse_args()
    db = open_database(args.data_dir, args.reset)
    catalogue = load_catalogue()
    try:
        with psycopg.connect(db.admin_conninfo) as conn:
            have = conn.execute("SELECT count(*) FROM cadastre.addresses").fetchone()
            if not have or not args.addresses <= have[0] < args.addresses * 1.05:
                started = time.perf_counter()
                synthesise(conn, catalogue, args.addresses)
                print(f"synthesised the registry in {time.perf_counter() - started:.0f} s")
            count = conn.execute("SELECT count(*) FROM cadastre.addresses").fetchone()
            items = queries(conn, args.queries, args.seed)
        engine = summary(asyncio.run(run_engine(db.public_conninfo, catalogue, items)))
        per_class = args.ilike_queries or args.queries
        ilike = summary(run_ilike(db.public_conninfo, items[: 3 * per_class]))
    finally:
        if db.started_cluster:
            db.cluster.down()
    report = {
        "addresses": count[0] if count else 0,
        "queries_per_class": args.queries,
        "ilike_queries_per_class": args.ilike_queries or args.queries,
        "seed": args.seed,
        "target_p95_ms": TARGET_P95_MS,
        "engine": engine,
        "ilike": ilike,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    print(markdown(report))
    out = REPO / "var" / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"search-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False), "utf-8")
    print(f"written {path}")


def markdown(report: dict[str, Any]) -> str:
    """The results as a markdown table."""
    lines = [
        f"{report['addresses']:,} addresses, {report['queries_per_class']} queries per class "
        f"({report['ilike_queries_per_class']} for ILIKE)",
        "",
        "| class | engine p50 | engine p95 | engine hit@1 | hit@10 "
        "| ILIKE p50 | ILIKE p95 | ILIKE hit@10 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for cls, e in report["engine"].items():
        i = report["ilike"][cls]
        lines.append(
            f"| {cls} | {e['p50_ms']} ms | {e['p95_ms']} ms | {e['hit_at_1']:.0%} "
            f"| {e['hit_at_10']:.0%} | {i['p50_ms']} ms | {i['p95_ms']} ms "
            f"| {i['hit_at_10']:.0%} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
