"""Lots and building footprints inside street blocks, by kind of block.

Every block is cut into lots (cells that tile the block) and each lot holds at most one
footprint, kept clear of the lot's edges: footprints never overlap one another, never reach
the street and each sits in exactly one lot (the lot later becomes its cadastral parcel). All
in the grid frame (metres, axis-aligned blocks), vectorised over all the blocks of a kind.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FRONT_S, FRONT_N, FRONT_W, FRONT_E, FRONT_NONE = 0, 1, 2, 3, 4
"""Which side of its lot a building faces (the street it is addressed on); NONE: centred."""

LOT_COLUMNS = ("block", "cu0", "cv0", "cu1", "cv1", "fu0", "fv0", "fu1", "fv1", "front", "btype")


def _cells(
    block: np.ndarray,
    u0: np.ndarray,
    v0: np.ndarray,
    u1: np.ndarray,
    v1: np.ndarray,
    size_u: np.ndarray,
    size_v: np.ndarray,
) -> dict[str, np.ndarray]:
    """Cut each rectangle into ni x nj equal cells of about size_u x size_v."""
    ni = np.maximum(1, np.floor((u1 - u0) / size_u)).astype(int)
    nj = np.maximum(1, np.floor((v1 - v0) / size_v)).astype(int)
    count = ni * nj
    owner = np.repeat(np.arange(len(block)), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    i, j = k // nj[owner], k % nj[owner]
    du, dv = (u1 - u0)[owner] / ni[owner], (v1 - v0)[owner] / nj[owner]
    cu0, cv0 = u0[owner] + i * du, v0[owner] + j * dv
    return {
        "owner": owner,
        "block": block[owner],
        "i": i,
        "j": j,
        "ni": ni[owner],
        "nj": nj[owner],
        "cu0": cu0,
        "cv0": cv0,
        "cu1": cu0 + du,
        "cv1": cv0 + dv,
    }


def _place(
    cells: dict[str, np.ndarray],
    along: np.ndarray,
    depth: np.ndarray,
    setback: np.ndarray,
    front: np.ndarray,
    margin: float,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Put an `along` x `depth` footprint in each cell: `setback` metres from its front side
    (anywhere for FRONT_NONE), at least `margin` metres from every other side. `along` runs
    parallel to the front (u for S/N and NONE, v for W/E)."""
    cu0, cv0, cu1, cv1 = cells["cu0"], cells["cv0"], cells["cu1"], cells["cv1"]
    vertical = (front == FRONT_W) | (front == FRONT_E)
    len_along = np.where(vertical, cv1 - cv0, cu1 - cu0)
    len_across = np.where(vertical, cu1 - cu0, cv1 - cv0)
    along = np.minimum(along, len_along - 2 * margin)
    depth = np.minimum(depth, len_across - np.where(front == FRONT_NONE, margin, setback) - margin)
    start_along = margin + rng.random(len(along)) * np.maximum(0, len_along - 2 * margin - along)
    free = np.maximum(0, len_across - 2 * margin - depth)
    start_across = np.select(
        [front == FRONT_S, front == FRONT_W, front == FRONT_N, front == FRONT_E],
        [setback, setback, len_across - setback - depth, len_across - setback - depth],
        margin + rng.random(len(along)) * free,
    )
    fu0 = np.where(vertical, cu0 + start_across, cu0 + start_along)
    fv0 = np.where(vertical, cv0 + start_along, cv0 + start_across)
    fu1 = fu0 + np.where(vertical, depth, along)
    fv1 = fv0 + np.where(vertical, along, depth)
    ok = (along >= 4) & (depth >= 4)
    nan = np.nan
    return {
        "fu0": np.where(ok, fu0, nan),
        "fv0": np.where(ok, fv0, nan),
        "fu1": np.where(ok, fu1, nan),
        "fv1": np.where(ok, fv1, nan),
    }


def _frame(
    cells: dict[str, np.ndarray], place: dict[str, np.ndarray], front: np.ndarray, btype: np.ndarray
) -> pd.DataFrame:
    data = {k: cells[k] for k in ("block", "cu0", "cv0", "cu1", "cv1")} | place
    frame = pd.DataFrame(data | {"front": front, "btype": btype})
    frame.loc[frame.fu0.isna(), "btype"] = ""
    return frame


def private_lots(blocks: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Private houses (частный сектор): one or two rows of lots of 17-24 m frontage along
    the east-west lanes, a house of 7-13 m set back 3-6 m from the lane, a few lots vacant."""
    n = len(blocks)
    height = (blocks.v1 - blocks.v0).to_numpy()
    rows = np.where(height >= 48, 2, 1)
    cells = _cells(
        blocks.index.to_numpy(),
        blocks.u0.to_numpy(),
        blocks.v0.to_numpy(),
        blocks.u1.to_numpy(),
        blocks.v1.to_numpy(),
        rng.uniform(17, 24, n),
        height / rows,
    )
    m = len(cells["block"])
    one_row_front = rng.choice([FRONT_S, FRONT_N], size=n)[cells["owner"]]
    front = np.where(cells["nj"] == 2, np.where(cells["j"] == 0, FRONT_S, FRONT_N), one_row_front)
    place = _place(
        cells,
        rng.uniform(7.5, 13, m),
        rng.uniform(7, 11.5, m),
        rng.uniform(3, 6, m),
        front,
        1.5,
        rng,
    )
    btype = np.where(rng.random(m) < 0.04, "", "house")
    return _frame(cells, place, front, btype)


def courtyard_lots(blocks: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Perimeter blocks of the centre: buildings of 25-55 m along the four streets, 10-18 m
    deep, with gaps to their neighbours; a few buildings inside the courtyard."""
    n = len(blocks)
    u0, v0, u1, v1 = (blocks[c].to_numpy() for c in ("u0", "v0", "u1", "v1"))
    d = rng.uniform(15, 21, n)
    seg = rng.uniform(28, 55, n)
    idx = blocks.index.to_numpy()
    frames = []
    strips = [  # (u0, v0, u1, v1, front)
        (u0, v0, u1, v0 + d, FRONT_S),
        (u0, v1 - d, u1, v1, FRONT_N),
        (u0, v0 + d, u0 + d, v1 - d, FRONT_W),
        (u1 - d, v0 + d, u1, v1 - d, FRONT_E),
    ]
    for su0, sv0, su1, sv1, side in strips:
        horizontal = side in (FRONT_S, FRONT_N)
        size_u = np.where(horizontal, seg, d)
        size_v = np.where(horizontal, d, seg)
        cells = _cells(idx, su0, sv0, su1, sv1, size_u, size_v)
        m = len(cells["block"])
        front = np.full(m, side)
        along = rng.uniform(22, 60, m)
        setback = rng.uniform(1, 3, m)
        depth = rng.uniform(10, 18, m)
        place = _place(cells, along, depth, setback, front, rng.uniform(1, 4), rng)
        btype = np.where(rng.random(m) < 0.08, "", "perimeter")
        frames.append(_frame(cells, place, front, btype))
    inner = _cells(
        idx, u0 + d, v0 + d, u1 - d, v1 - d, rng.uniform(40, 55, n), rng.uniform(35, 50, n)
    )
    m = len(inner["block"])
    front = np.full(m, FRONT_NONE)
    place = _place(
        inner, rng.uniform(14, 32, m), rng.uniform(12, 24, m), np.zeros(m), front, 5.0, rng
    )
    frames.append(_frame(inner, place, front, np.where(rng.random(m) < 0.35, "inner", "")))
    return pd.concat(frames, ignore_index=True)


MICRO_TYPES = {  # btype: (probability, along m, across m)
    "slab5": (0.32, (55, 100), (11.5, 12.5)),
    "slab9": (0.32, (70, 130), (12.5, 13.5)),
    "tower": (0.06, (22, 26), (22, 26)),
    "school": (0.06, (65, 80), (18, 24)),
    "kindergarten": (0.06, (40, 50), (20, 26)),
    "clinic": (0.02, (50, 60), (14, 18)),
    "shop": (0.05, (20, 35), (12, 18)),
    "": (0.11, (0, 0), (0, 0)),
}


def _typed_cells(
    cells: dict[str, np.ndarray],
    types: dict,
    rng: np.random.Generator,
    margin: float,
    swap: np.ndarray | None = None,
) -> pd.DataFrame:
    """Draw a building type per cell and a centred footprint of that type's size."""
    m = len(cells["block"])
    names = list(types)
    chosen = rng.choice(len(names), size=m, p=[types[t][0] for t in names])
    low_a, high_a = np.array([types[t][1] for t in names], dtype=float).T
    low_c, high_c = np.array([types[t][2] for t in names], dtype=float).T
    along = low_a[chosen] + rng.random(m) * (high_a - low_a)[chosen]
    across = low_c[chosen] + rng.random(m) * (high_c - low_c)[chosen]
    if swap is not None:  # long side along v in these cells
        along, across = np.where(swap, across, along), np.where(swap, along, across)
    front = np.full(m, FRONT_NONE)
    place = _place(cells, along, across, np.zeros(m), front, margin, rng)
    return _frame(cells, place, front, np.array(names)[chosen])


def micro_lots(blocks: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Soviet microdistricts: 5- and 9-storey slabs in parallel rows with wide yards, plus
    schools, kindergartens, clinics and shops; rows run east-west or north-south by block."""
    n = len(blocks)
    swap = rng.random(n) < 0.35
    cell_along, cell_across = rng.uniform(110, 150, n), rng.uniform(55, 75, n)
    cells = _cells(
        blocks.index.to_numpy(),
        blocks.u0.to_numpy(),
        blocks.v0.to_numpy(),
        blocks.u1.to_numpy(),
        blocks.v1.to_numpy(),
        np.where(swap, cell_across, cell_along),
        np.where(swap, cell_along, cell_across),
    )
    return _typed_cells(cells, MICRO_TYPES, rng, 6.0, swap[cells["owner"]])


HIGHRISE_TYPES = {
    "hr_tower": (0.55, (20, 32), (18, 30)),
    "hr_section": (0.25, (40, 55), (15, 18)),
    "": (0.20, (0, 0), (0, 0)),
}
INDUSTRIAL_TYPES = {"shed": (0.8, (30, 110), (18, 70)), "": (0.2, (0, 0), (0, 0))}
CAMPUS_TYPES = {"campus": (0.75, (40, 75), (14, 24)), "": (0.25, (0, 0), (0, 0))}


def grid_lots(blocks: pd.DataFrame, kind: str, rng: np.random.Generator) -> pd.DataFrame:
    """New high-rise quarters, industrial zones and campuses: a regular grid of cells with a
    tower, section, shed or institutional building in most of them."""
    n = len(blocks)
    types, size, margin = {
        "highrise": (HIGHRISE_TYPES, (45, 62), 5.0),
        "industrial": (INDUSTRIAL_TYPES, (90, 150), 6.0),
        "campus": (CAMPUS_TYPES, (80, 115), 6.0),
    }[kind]
    cells = _cells(
        blocks.index.to_numpy(),
        blocks.u0.to_numpy(),
        blocks.v0.to_numpy(),
        blocks.u1.to_numpy(),
        blocks.v1.to_numpy(),
        rng.uniform(*size, n),
        rng.uniform(*size, n) * 0.8,
    )
    return _typed_cells(cells, types, rng, margin)


def all_lots(blocks: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Lots of every block (index = the block's row in `blocks`), parks left empty."""
    small = ((blocks.u1 - blocks.u0) < 80) | ((blocks.v1 - blocks.v0) < 80)
    kinds = blocks.kind.where(~(small & (blocks.kind == "courtyard")), "highrise")
    frames = []
    for kind in ("private", "courtyard", "micro", "highrise", "industrial", "campus"):
        subset = blocks[kinds == kind]
        if subset.empty:
            continue
        if kind == "private":
            frames.append(private_lots(subset, rng))
        elif kind == "courtyard":
            frames.append(courtyard_lots(subset, rng))
        elif kind == "micro":
            frames.append(micro_lots(subset, rng))
        else:
            frames.append(grid_lots(subset, kind, rng))
    lots = pd.concat(frames, ignore_index=True)
    return lots.sort_values(["block", "cv0", "cu0"], kind="stable").reset_index(drop=True)
