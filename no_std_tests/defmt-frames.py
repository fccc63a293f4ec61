#!/usr/bin/env python3
"""Decodes the defmt frames the firmware wrote to a semihosting file (defmt.bin), using the
format strings in the image's `.defmt` symbols (listed with llvm-nm). A small stand-in for
`defmt-print -e IMAGE < defmt.bin` that needs only python3 and llvm-nm.

Handles what this firmware and pluginhost log: integers, bool, str, istr, `{}`/`{=?}` (nested
Format values, derived structs and enums), arrays and slices. No timestamps (none is defined).

usage: defmt-frames.py IMAGE defmt.bin [--nm LLVM_NM] [--quiet]
Prints one line per frame (`LEVEL text`), then `defmt: N frames decoded`. Exits 1 if a frame
cannot be decoded.
"""

import json
import re
import struct
import subprocess
import sys

PARAM = re.compile(r"\{\{|\}\}|\{(\d+)?(=[^:}]*)?(:[^}]*)?\}")
INTS = {
    "u8": ("<B", 1), "u16": ("<H", 2), "u32": ("<I", 4), "u64": ("<Q", 8),
    "i8": ("<b", 1), "i16": ("<h", 2), "i32": ("<i", 4), "i64": ("<q", 8),
    "usize": ("<I", 4), "isize": ("<i", 4), "f32": ("<f", 4), "f64": ("<d", 8),
}


class Frame:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        # rzCOBS drops a frame's trailing zero bytes: pad them back.
        return chunk + bytes(n - len(chunk))

    def int(self, ty):
        fmt, n = INTS[ty]
        return struct.unpack(fmt, self.take(n))[0]

    def until_ff(self):
        """Bytes up to a 0xFF terminator (never in UTF-8): how `Debug2Format` and
        `Display2Format` send text formatted on the device."""
        end = self.data.find(b"\xff", self.pos)
        end = len(self.data) if end < 0 else end
        chunk = self.data[self.pos:end]
        self.pos = end + 1
        return chunk


def rzcobs_decode(enc):
    out = bytearray()
    i = len(enc) - 1
    while i >= 0:
        x = enc[i]
        i -= 1
        if x == 0:
            raise ValueError("zero byte inside a frame")
        if x <= 0x7F:
            for bit in range(6, -1, -1):
                if x & (1 << bit):
                    out.append(0)
                else:
                    if i < 0:
                        raise ValueError("truncated frame")
                    out.append(enc[i])
                    i -= 1
        elif x < 0xFF:
            out.append(0)
            for _ in range((x & 0x7F) + 7):
                if i < 0:
                    raise ValueError("truncated frame")
                out.append(enc[i])
                i -= 1
        else:
            for _ in range(134):
                if i < 0:
                    raise ValueError("truncated frame")
                out.append(enc[i])
                i -= 1
    out.reverse()
    while out and out[-1] == 0:
        out.pop()
    return bytes(out)


def split_variants(fmt):
    """Top-level `|` split of a derived enum's format string."""
    parts, depth, cur = [], 0, ""
    for ch in fmt:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "|" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def decode_format(table, fmt, frame):
    variants = split_variants(fmt)
    if len(variants) > 1:
        index = frame.int("u8") if len(variants) <= 256 else frame.int("u16")
        if index >= len(variants):
            raise ValueError(f"enum discriminant {index} of {fmt!r}")
        fmt = variants[index]
    out, last = [], 0
    for m in PARAM.finditer(fmt):
        out.append(fmt[last:m.start()])
        last = m.end()
        token = m.group(0)
        if token in ("{{", "}}"):
            out.append(token[0])
            continue
        ty = m.group(2)[1:] if m.group(2) else "?"
        out.append(decode_arg(table, ty, frame))
    out.append(fmt[last:])
    return "".join(out)


def nested(table, frame):
    tag = frame.int("u16")
    if tag not in table:
        raise ValueError(f"unknown format index {tag}")
    return table[tag][1]


def decode_arg(table, ty, frame):
    if ty in INTS:
        return str(frame.int(ty))
    if ty == "bool":
        return "true" if frame.int("u8") else "false"
    if ty == "str":
        n = frame.int("u32")
        return frame.take(n).decode("utf-8", "replace")
    if ty == "istr":
        tag = frame.int("u16")
        return table.get(tag, ("", f"<istr {tag}>"))[1]
    if ty == "char":
        return chr(frame.int("u32"))
    if ty in ("__internal_Debug", "__internal_Display"):
        return frame.until_ff().decode("utf-8", "replace")
    if ty == "?":
        return decode_format(table, nested(table, frame), frame)
    m = re.fullmatch(r"\[u8(?:;(\d+))?\]", ty)
    if m:
        n = int(m.group(1)) if m.group(1) else frame.int("u32")
        return frame.take(n).hex()
    m = re.fullmatch(r"\[\?(?:;(\d+))?\]", ty)
    if m:
        n = int(m.group(1)) if m.group(1) else frame.int("u32")
        fmt = nested(table, frame)
        return "[" + ", ".join(decode_format(table, fmt, frame) for _ in range(n)) + "]"
    raise ValueError(f"unsupported parameter type {ty!r}")


def load_table(image, nm):
    listing = subprocess.run([nm, image], check=True, capture_output=True, text=True).stdout
    table = {}
    for line in listing.splitlines():
        addr, _, rest = line.partition(" ")
        if not rest[2:].startswith("{"):
            continue
        try:
            sym = json.loads(rest[2:])
        except json.JSONDecodeError:
            continue
        level = sym.get("tag", "").removeprefix("defmt_")
        table[int(addr, 16)] = (level, sym.get("data", ""))
    return table


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    nm = "llvm-nm"
    if "--nm" in argv:
        nm = argv[argv.index("--nm") + 1]
        args.remove(nm)
    quiet = "--quiet" in argv
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    image, raw = args
    table = load_table(image, nm)
    data = open(raw, "rb").read()
    count = 0
    for enc in data.split(b"\x00"):
        if not enc:
            continue
        frame = Frame(rzcobs_decode(enc))
        tag = frame.int("u16")
        if tag not in table:
            print(f"defmt: frame {count}: unknown format index {tag}", file=sys.stderr)
            return 1
        level, fmt = table[tag]
        text = decode_format(table, fmt, frame)
        count += 1
        if not quiet:
            print(f"{level.upper():5} {text}")
    print(f"defmt: {count} frames decoded")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
