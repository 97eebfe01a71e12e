#!/usr/bin/env python3
"""Regenerate tests/fixtures/headroom_reference.json by running SONiC's own headroom script.

    python tools/headroom_reference.py PATH/TO/buffer_headroom_mellanox.lua [--lua lua5.1]

The script is sonic-net/sonic-swss `cfgmgr/buffer_headroom_mellanox.lua`. It is not kept in
this repository; fetch it yourself. It normally runs inside Redis (Lua 5.1) through EVALSHA;
here a plain `lua5.1` runs it with a small shim standing in for `redis.call` that serves the
STATE_DB/CONFIG_DB tables of each case, and with KEYS/ARGV set as buffermgrd sets them.

Pass the script at commit b20a59691 (the newest text available to us) and this tool adds the
one change of commit 422271e7e ("Add headroom compensation for Spectrum-6": xoff + 18 KiB on
an ASIC_TABLE key ending in '6', right after xoff is rounded up, before the 2 KiB
compensation), as the research notes in reference/rules.md section 1.1 describe it. Pass
`--no-spectrum-6-patch` with a script that already contains that change.

Not run by the tests: the tests only read the JSON this writes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "tests" / "fixtures" / "headroom_reference.json"

# sonic-buildimage platform/mellanox/asic_table.j2 (STATE_DB ASIC_TABLE), as strings like Redis holds them.
ASIC_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "spectrum-1": ("MELLANOX-SPECTRUM", {"cell_size": "96", "pipeline_latency": "19"}),
    "spectrum-2": ("MELLANOX-SPECTRUM-2", {"cell_size": "144", "pipeline_latency": "19"}),
    "spectrum-3": ("MELLANOX-SPECTRUM-3", {"cell_size": "144", "pipeline_latency": "19"}),
    "spectrum-4": ("MELLANOX-SPECTRUM-4", {"cell_size": "192", "pipeline_latency": "19"}),
    "spectrum-5": ("MELLANOX-SPECTRUM-5", {"cell_size": "192", "pipeline_latency": "19"}),
    "spectrum-6": ("MELLANOX-SPECTRUM-6", {"cell_size": "256", "pipeline_latency": "42"}),
}
ASIC_COMMON = {"mac_phy_delay": "0.8", "peer_response_time": "3.8", "port_reserved_shp": "20"}
PORT_MAX_SHP = {"spectrum-5": "6144", "spectrum-6": "6144"}

SPECTRUM_6_ANCHOR = "xoff_value = math.ceil(xoff_value / 1024) * 1024\n"
SPECTRUM_6_PATCH = (
    "if asic_keys[1]:sub(-1) == '6' then\n"
    "    xoff_value = xoff_value + 18 * 1024\n"
    "end\n"
)

# How the shared headroom pool is switched on: the script treats either a non-zero
# over_subscribe_ratio or a non-zero ingress_lossless_pool xoff as "enabled".
SHP_MODES = ("off", "off_ratio_0", "over_subscribe_ratio", "pool_xoff")


@dataclass(frozen=True)
class Case:
    model: str
    speed_mbps: int
    cable_m: float
    port_mtu: int
    lossless_mtu: int = 1024
    small_packet_percent: int = 50
    lanes: int = 4
    gearbox_delay_ns: int = 0
    shp_mode: str = "off"

    @property
    def shared_headroom_pool(self) -> bool:
        return self.shp_mode in ("over_subscribe_ratio", "pool_xoff")


def build_cases() -> list[Case]:
    models = list(ASIC_TABLES)
    # 5000 and 1600000 are not in the pause-quanta table: they exercise peer_response_time.
    speeds = [1000, 5000, 10000, 25000, 40000, 50000, 100000, 200000, 400000, 800000, 1600000]
    cables = [0.0, 1.0, 2.5, 5.0, 7.0, 40.0, 100.0, 300.0]
    cases: list[Case] = []
    for model in models:
        for speed in speeds:
            for cable in cables:
                cases.append(Case(model, speed, cable, 9100))
        for speed in (100000, 200000, 400000, 800000):
            for cable in (5.0, 40.0, 300.0):
                cases.append(Case(model, speed, cable, 9100, lanes=8))
                cases.append(Case(model, speed, cable, 9100, lanes=8, shp_mode="over_subscribe_ratio"))
        for speed in (25000, 100000, 400000, 800000):
            for cable in (0.0, 5.0, 300.0):
                for shp_mode in SHP_MODES:
                    for small in (0, 50, 100):
                        cases.append(Case(model, speed, cable, 9100, small_packet_percent=small, shp_mode=shp_mode))
        for gearbox in (0, 1, 240, 730):
            for speed in (100000, 400000, 5000):
                cases.append(Case(model, speed, 5.0, 9100, gearbox_delay_ns=gearbox))
                cases.append(Case(model, speed, 5.0, 9100, gearbox_delay_ns=gearbox, lanes=8))
        for port_mtu, lossless_mtu in ((1500, 1024), (4200, 4096), (9216, 1024), (9216, 4096), (1500, 1500)):
            for speed in (100000, 400000):
                for small in (25, 50, 100):
                    cases.append(Case(model, speed, 5.0, port_mtu, lossless_mtu=lossless_mtu, small_packet_percent=small))
    # A seeded random sweep over everything at once, to catch interactions the grid misses.
    rng = random.Random(20260901)
    for _ in range(400):
        cases.append(
            Case(
                model=rng.choice(models),
                speed_mbps=rng.choice(speeds + [2500, 20000, 56000, 150000]),
                cable_m=rng.choice([0.0, 0.5, 3.0, 5.0, 12.5, 40.0, 80.0, 150.0, 300.0, rng.randint(0, 3000) / 10]),
                port_mtu=rng.choice([1500, 4200, 9000, 9100, 9216]),
                lossless_mtu=rng.choice([1024, 2048, 4096]),
                small_packet_percent=rng.choice([0, 10, 50, 75, 99, 100]),
                lanes=rng.choice([1, 2, 4, 8]),
                gearbox_delay_ns=rng.choice([0, 0, 100, 500, 1000]),
                shp_mode=rng.choice(SHP_MODES),
            )
        )
    unique = list(dict.fromkeys(cases))
    return unique


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cable_argument(metres: float) -> str:
    # buffermgrd passes e.g. "5m"; the script strips the last character and tonumber()s it.
    text = str(int(metres)) if metres.is_integer() else repr(metres)
    return text + "m"


def databases_for(case: Case) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """Redis contents per db number: key -> ordered field/value pairs."""
    table_key, specific = ASIC_TABLES[case.model]
    asic_fields = {**specific, **ASIC_COMMON, "port_max_shp": PORT_MAX_SHP.get(case.model, "8192")}
    default_params = [("default_dynamic_th", "0")]
    if case.shp_mode == "over_subscribe_ratio":
        default_params += [("over_subscribe_ratio", "2"), ("max_headroom_size", "0")]
    if case.shp_mode == "off_ratio_0":
        default_params += [("over_subscribe_ratio", "0"), ("max_headroom_size", "0")]
    config_db: dict[str, list[tuple[str, str]]] = {
        "LOSSLESS_TRAFFIC_PATTERN|AZURE": [
            ("mtu", str(case.lossless_mtu)),
            ("small_packet_percentage", str(case.small_packet_percent)),
        ],
        "DEFAULT_LOSSLESS_BUFFER_PARAMETER|AZURE": default_params,
    }
    if case.shp_mode == "pool_xoff":
        config_db["BUFFER_POOL|ingress_lossless_pool"] = [("mode", "dynamic"), ("type", "ingress"), ("xoff", "2097152")]
    return {"6": {f"ASIC_TABLE|{table_key}": list(asic_fields.items())}, "4": config_db}


def lua_case_table(case: Case) -> str:
    dbs = []
    for db, keys in databases_for(case).items():
        entries = []
        for key, fields in keys.items():
            flat = ", ".join(f"{lua_string(f)}, {lua_string(v)}" for f, v in fields)
            entries.append(f"[{lua_string(key)}] = {{{flat}}}")
        dbs.append(f"[{lua_string(db)}] = {{{', '.join(entries)}}}")
    argv = [str(case.speed_mbps), cable_argument(case.cable_m), str(case.port_mtu), str(case.gearbox_delay_ns), str(case.lanes)]
    profile = f"BUFFER_PROFILE_TABLE:pg_lossless_{case.speed_mbps}_{cable_argument(case.cable_m)}_profile"
    return (
        f"{{keys = {{{lua_string(profile)}}}, argv = {{{', '.join(lua_string(a) for a in argv)}}}, "
        f"dbs = {{{', '.join(dbs)}}}}}"
    )


# The shim: enough of redis.call for this script. Missing keys/fields answer `false`, as
# Redis' Lua bridge turns a nil bulk reply into false.
LUA_DRIVER = r"""
local script = assert(loadfile(SCRIPT_PATH))
for index, case in ipairs(CASES) do
    local selected = "0"
    redis = {
        call = function(command, a, b)
            local db = case.dbs[selected] or {}
            if command == 'SELECT' then selected = a; return 'OK' end
            if command == 'KEYS' then
                local prefix = string.sub(a, 1, -2)
                local found = {}
                for key, _ in pairs(db) do
                    if string.sub(key, 1, #prefix) == prefix then table.insert(found, key) end
                end
                table.sort(found)
                return found
            end
            if command == 'HGETALL' then return db[a] or {} end
            if command == 'HGET' then
                local fields = db[a]
                if fields == nil then return false end
                for i = 1, #fields, 2 do
                    if fields[i] == b then return fields[i + 1] end
                end
                return false
            end
            error('unexpected redis.call ' .. command)
        end
    }
    KEYS = case.keys
    ARGV = case.argv
    local result = script()
    io.write(index, ' ', table.concat(result, ' '), '\n')
end
"""


def run_lua(lua: str, script_path: Path, cases: list[Case]) -> list[dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        driver = Path(tmp) / "driver.lua"
        driver.write_text(
            f"SCRIPT_PATH = {lua_string(str(script_path))}\n"
            + "CASES = {\n" + ",\n".join(lua_case_table(c) for c in cases) + "\n}\n"
            + LUA_DRIVER
        )
        completed = subprocess.run([lua, str(driver)], capture_output=True, text=True, check=True)
    outputs: list[dict[str, int]] = []
    for expected_index, line in enumerate(completed.stdout.splitlines(), start=1):
        index, *pairs = line.split()
        assert int(index) == expected_index, line
        values = dict(pair.split(":") for pair in pairs)
        outputs.append({name: int(values[name]) for name in ("xon", "xoff", "size")})
    assert len(outputs) == len(cases), "the Lua run did not answer every case"
    return outputs


def render_json(document: dict) -> str:
    """Readable header, one case per line: keeps the fixture small and its diffs reviewable."""
    header = {key: value for key, value in document.items() if key != "cases"}
    head = json.dumps(header, indent=1)[:-2]  # drop the closing "\n}"
    lines = ",\n".join("  " + json.dumps(case, separators=(",", ":")) for case in document["cases"])
    return f'{head},\n "cases": [\n{lines}\n ]\n}}\n'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("script", type=Path, help="buffer_headroom_mellanox.lua (sonic-swss b20a59691)")
    parser.add_argument("--lua", default="lua5.1", help="Lua interpreter; Redis embeds Lua 5.1 (default: lua5.1)")
    parser.add_argument("--no-spectrum-6-patch", action="store_true", help="the script already has 422271e7e")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    source = args.script.read_text()
    source_sha256 = hashlib.sha256(source.encode()).hexdigest()
    if not args.no_spectrum_6_patch:
        if source.count(SPECTRUM_6_ANCHOR) != 1 or "sub(-1) == '6'" in source:
            print("error: cannot place the Spectrum-6 change; is this the b20a59691 text?", file=sys.stderr)
            return 3
        source = source.replace(SPECTRUM_6_ANCHOR, SPECTRUM_6_ANCHOR + SPECTRUM_6_PATCH)

    cases = build_cases()
    with tempfile.TemporaryDirectory() as tmp:
        patched = Path(tmp) / "buffer_headroom_mellanox.lua"
        patched.write_text(source)
        outputs = run_lua(args.lua, patched, cases)
    lua_version = subprocess.run([args.lua, "-v"], capture_output=True, text=True).stdout.strip() or subprocess.run(
        [args.lua, "-v"], capture_output=True, text=True).stderr.strip()

    document = {
        "note": (
            "Reference outputs of SONiC's cfgmgr/buffer_headroom_mellanox.lua, produced by "
            "tools/headroom_reference.py running the original script under "
            f"{lua_version} with redis.call stubbed to serve each case's ASIC_TABLE "
            "(sonic-buildimage platform/mellanox/asic_table.j2), LOSSLESS_TRAFFIC_PATTERN, "
            "DEFAULT_LOSSLESS_BUFFER_PARAMETER and BUFFER_POOL|ingress_lossless_pool. "
            + (
                "Script text: sonic-net/sonic-swss commit b20a59691 (sha256 of the file below); "
                "the 422271e7e change (Spectrum-6: xoff += 18 KiB after the 1 KiB round-up, before "
                "the 2 KiB compensation) was added by the tool as documented in reference/rules.md 1.1, "
                "because the 422271e7e file text itself was not available."
                if not args.no_spectrum_6_patch
                else "Script text used as given (sha256 below)."
            )
        ),
        "source": {
            "repository": "sonic-net/sonic-swss",
            "path": "cfgmgr/buffer_headroom_mellanox.lua",
            "script_commit": "b20a59691baca9ff6e4fbe46a7cd8223a3419117",
            "script_sha256": source_sha256,
            "pinned_commit": "422271e7e",
            "spectrum_6_change_added_by_tool": not args.no_spectrum_6_patch,
            "asic_table": "sonic-net/sonic-buildimage platform/mellanox/asic_table.j2",
        },
        "shp_modes": {
            "off": "no over_subscribe_ratio, no pool xoff",
            "off_ratio_0": "over_subscribe_ratio 0",
            "over_subscribe_ratio": "over_subscribe_ratio 2 (shared headroom pool on)",
            "pool_xoff": "BUFFER_POOL|ingress_lossless_pool xoff 2097152 (shared headroom pool on)",
        },
        "cases": [
            {"input": {**asdict(case), "shared_headroom_pool": case.shared_headroom_pool}, "output": output}
            for case, output in zip(cases, outputs)
        ],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render_json(document))
    print(f"wrote {len(cases)} cases to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
