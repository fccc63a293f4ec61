#!/usr/bin/env python3
"""Checks built plugins against the guest ABI (v2), with no dependencies beyond Python 3.

For each .wasm given: every import is a function from module "pluginhost", is one of the ABI's
imports, and has its exact signature; `memory` and `run: () -> i32` are exported; there is exactly
one "pluginhost.manifest" custom section, UTF-8, whose `abi=N` is a version this ABI knows and at
least the version that added each import. Prints one line per file and exits non-zero if any check
fails.
"""
import sys

I32 = 0x7F
ABI = {
    "input_len": ([], [I32]),
    "input_read": ([I32] * 2, [I32]),
    "output_write": ([I32] * 2, [I32]),
    "log": ([I32] * 3, [I32]),
    "fs_read": ([I32] * 4, [I32]),
    "fs_size": ([I32] * 2, [I32]),
    "fs_write": ([I32] * 4, [I32]),
    "fs_rename": ([I32] * 4, [I32]),
    "net_dial": ([I32] * 3, [I32]),
    "net_send": ([I32] * 3, [I32]),
    "net_recv": ([I32] * 3, [I32]),
    "net_close": ([I32], [I32]),
    "process_exec": ([I32] * 4, [I32]),
    # ABI v2.
    "random_fill": ([I32] * 2, [I32]),
    "clock_now": ([I32] * 2, [I32]),
    "net_dial_tls": ([I32] * 3, [I32]),
}
ABI_VERSION = 2
# The version that added each import (1 unless listed).
SINCE = {"random_fill": 2, "clock_now": 2, "net_dial_tls": 2}
# rustc always exports these two immutable globals from wasm32-unknown-unknown cdylibs.
TOLERATED_EXPORTS = {"__heap_base", "__data_end"}


class Reader:
    def __init__(self, data, pos=0):
        self.data, self.pos = data, pos

    def byte(self):
        b = self.data[self.pos]
        self.pos += 1
        return b

    def leb(self):
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return result

    def name(self):
        n = self.leb()
        raw = self.data[self.pos:self.pos + n]
        self.pos += n
        return raw.decode("utf-8")

    def limits(self):
        flags = self.leb()
        self.leb()
        if flags & 1:
            self.leb()


def inspect(path):
    data = open(path, "rb").read()
    if data[:8] != b"\0asm\x01\0\0\0":
        return ["not a wasm module (version 1)"], {}
    r = Reader(data, 8)
    types, imports, exports, func_types, customs = [], [], [], [], []
    while r.pos < len(data):
        sid = r.byte()
        size = r.leb()
        end = r.pos + size
        s = Reader(data, r.pos)
        if sid == 0:
            customs.append((s.name(), data[s.pos:end]))
        elif sid == 1:
            for _ in range(s.leb()):
                if s.byte() != 0x60:
                    return ["unexpected type form"], {}
                params = [s.byte() for _ in range(s.leb())]
                results = [s.byte() for _ in range(s.leb())]
                types.append((params, results))
        elif sid == 2:
            for _ in range(s.leb()):
                module, field, kind = s.name(), s.name(), s.byte()
                if kind == 0:
                    imports.append((module, field, "func", s.leb()))
                elif kind == 1:
                    s.byte()
                    s.limits()
                    imports.append((module, field, "table", None))
                elif kind == 2:
                    s.limits()
                    imports.append((module, field, "memory", None))
                else:
                    s.byte()
                    s.byte()
                    imports.append((module, field, "global", None))
        elif sid == 3:
            func_types = [s.leb() for _ in range(s.leb())]
        elif sid == 7:
            for _ in range(s.leb()):
                exports.append((s.name(), s.byte(), s.leb()))
        r.pos = end

    problems = []
    func_imports = [i for i in imports if i[2] == "func"]
    for module, field, kind, type_index in imports:
        if module != "pluginhost":
            problems.append(f"imports {module}.{field} (only module pluginhost is allowed)")
        elif kind != "func":
            problems.append(f"imports a {kind} pluginhost.{field}")
        elif field not in ABI:
            problems.append(f"imports pluginhost.{field}, which is not in ABI v{ABI_VERSION}")
        elif tuple(map(tuple, types[type_index])) != tuple(map(tuple, ABI[field])):
            problems.append(f"pluginhost.{field} has the wrong signature {types[type_index]}")
    names = {name: (kind, index) for name, kind, index in exports}
    if names.get("memory", (None,))[0] != 2:
        problems.append("does not export memory")
    run = names.get("run")
    if run is None or run[0] != 0:
        problems.append("does not export the function run")
    else:
        local = run[1] - len(func_imports)
        if local < 0 or types[func_types[local]] != ([], [I32]):
            problems.append("run is not () -> i32")
    extra = sorted(set(names) - {"memory", "run"} - TOLERATED_EXPORTS)
    if extra:
        problems.append(f"exports more than memory and run: {extra}")
    manifests = [payload for name, payload in customs if name == "pluginhost.manifest"]
    manifest = ""
    if len(manifests) != 1:
        problems.append(f"has {len(manifests)} pluginhost.manifest sections (want 1)")
    else:
        try:
            manifest = manifests[0].decode("utf-8")
        except UnicodeDecodeError:
            problems.append("manifest is not UTF-8")
        abis = [line[4:] for line in manifest.split("\n") if line.startswith("abi=")]
        abi = int(abis[0]) if len(abis) == 1 and abis[0].isdigit() else None
        needed = max([SINCE.get(f, 1) for _, f, _, _ in func_imports] + [1])
        if abi is None or not 1 <= abi <= ABI_VERSION:
            problems.append(f"manifest lacks abi=1..{ABI_VERSION}")
        elif abi < needed:
            problems.append(f"manifest declares abi={abi}, its imports need {needed}")
    info = {
        "imports": [f for _, f, _, _ in func_imports],
        "manifest": manifest,
        "size": len(data),
    }
    return problems, info


def main(paths):
    failed = False
    for path in paths:
        problems, info = inspect(path)
        name = path.rsplit("/", 1)[-1]
        if problems:
            failed = True
            print(f"FAIL {name}: " + "; ".join(problems))
            continue
        grants = [l[len("grant="):] for l in info["manifest"].split("\n") if l.startswith("grant=")]
        print(
            f"ok   {name:34} {info['size']:7d} bytes  imports: {', '.join(info['imports'])}"
            f"  grants: {', '.join(grants) or '(none)'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
