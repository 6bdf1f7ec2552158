"""The results file (Markdown + JSON) and the throughput plot."""

from __future__ import annotations

import json
import math
from pathlib import Path

from performance_test_project.throughput import LABELS, TOOLS

COLUMNS = ["biofm", "nginx", "scp", "rsync", "http.server"]
HEADERS = ["BioFileManager", "nginx", "scp", "rsync (ssh)", "curl ← http.server"]


def _num(value, fmt: str = "{:.1f}") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return fmt.format(value)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def headline(data: dict) -> list[str]:
    lines = [_row(["Metric", *HEADERS, "Target"]), _row(["---"] * (len(HEADERS) + 2))]
    throughput = data.get("throughput") or {}
    for direction in ("upload", "download"):
        for label, sizes in throughput.items():
            if not isinstance(sizes, dict) or "bytes" not in sizes:
                continue
            cells = [f"{direction.capitalize()} {label} (MB/s)"]
            for tool in COLUMNS:
                cells.append(_num((sizes.get(tool) or {}).get(f"{direction}_mb_s")))
            target = "≥ 0.5× nginx PUT" if direction == "upload" else "≥ 0.8× nginx GET"
            lines.append(_row([*cells, target]))
    levels = data.get("concurrency") or []
    top = max((lvl for lvl in levels if isinstance(lvl, dict) and "clients" in lvl), key=lambda x: x["clients"],
              default=None)  # fmt: skip
    if top:
        n = top["clients"]
        dash = ["—"] * (len(COLUMNS) - 1)
        lines.append(_row([f"Success rate, {n} clients", _num(top["success_rate"] * 100, "{:.2f} %"), *dash,
                           "≥ 99.9 %"]))  # fmt: skip
        lines.append(_row([f"Mean response, {n} clients", _num(top["mean_ms"], "{:.0f} ms"), *dash, "< 290 ms"]))
        lines.append(_row([f"p95 response, {n} clients", _num(top["p95_ms"], "{:.0f} ms"), *dash, "—"]))
    resume = data.get("resume") or {}
    dash = ["—"] * (len(COLUMNS) - 1)
    client = resume.get("client_killed") or {}
    if "process_start_to_resumed_chunk_s" in client:
        value = _num(client["process_start_to_resumed_chunk_s"], "{:.2f} s")
        lines.append(_row(["Resume after client kill (restart → resumed transfer)", value, *dash, "< 0.5 s"]))
        rsync = (client.get("baselines") or {}).get("rsync")
        rsync_cell = f"{rsync['process_start_to_done_s']:.2f} s (--partial --append-verify)" if rsync else "—"
        cells = ["Resume after client kill (restart → upload complete)",
                 _num(client.get("process_start_to_done_s"), "{:.2f} s"), "no resume (PUT starts over)",
                 "no resume (starts over)", rsync_cell, "—"]  # fmt: skip
        lines.append(_row([*cells, "—"]))
    server = resume.get("server_killed") or {}
    if "restart_s" in server:
        lines.append(_row(["Resume after server SIGKILL (healthy → resumed transfer)",
                           _num(server["healthy_to_resumed_chunk_s"], "{:.2f} s"), *dash, "—"]))  # fmt: skip
    cut = resume.get("download_cut") or {}
    if "status" in cut:
        cells = ["Download cut at 1/3 and resumed (Range + If-Range): first resumed byte"]
        for tool in COLUMNS:
            part = cut if tool == "biofm" else (cut.get("baselines") or {}).get(tool)
            if not part:
                cells.append("—")
            elif part["status"] != 206:
                cells.append(f"no Range (HTTP {part['status']}, whole file again)")
            else:
                cells.append(_num((part["time_to_first_resumed_byte_s"] or 0) * 1000, "{:.0f} ms"))
        lines.append(_row([*cells, "206, intact"]))
    lossy = data.get("lossy") or {}
    if "upload_overhead" in lossy:
        rate = f"{lossy['fault_rate']:.0%}"
        proxy = (lossy.get("lossy") or {}).get("proxy") or {}
        faults = f"{proxy.get('drop', 0)} drops, {proxy.get('stall', 0)} stalls"
        for direction in ("upload", "download"):
            value = _num(lossy[f"{direction}_overhead"] * 100, "+{:.0f} %")
            name = f"Lossy network ({rate} of requests broken; {faults}): {direction} time overhead"
            lines.append(_row([name, value, *dash, "completes, intact"]))
    integrity = data.get("integrity") or {}
    cells = ["Integrity (SHA-256 of every copy)"]
    for tool in COLUMNS:
        ok, total = integrity.get(tool, (0, 0))
        cells.append(f"{ok}/{total}" if total else "—")
    lines.append(_row([*cells, "all"]))
    return lines


def throughput_detail(throughput: dict) -> list[str]:
    lines = []
    for direction in ("upload", "download"):
        lines += [f"**{direction.capitalize()}** (MB/s; ratio = BioFileManager ÷ tool)", ""]
        lines.append(_row(["Size", *[LABELS[t] for t in TOOLS], *[f"÷ {t}" for t in TOOLS[1:]]]))
        lines.append(_row(["---"] * (2 * len(TOOLS))))
        for label, sizes in throughput.items():
            if not isinstance(sizes, dict) or "bytes" not in sizes:
                continue
            ours = (sizes.get("biofm") or {}).get(f"{direction}_mb_s")
            cells = [label] + [_num((sizes.get(t) or {}).get(f"{direction}_mb_s")) for t in TOOLS]
            for tool in TOOLS[1:]:
                other = (sizes.get(tool) or {}).get(f"{direction}_mb_s")
                cells.append(_num(ours / other if ours and other else None, "{:.2f}"))
            lines.append(_row(cells))
        lines.append("")
    return lines


def concurrency_detail(levels: list[dict]) -> list[str]:
    lines = [_row(["Clients", "Requests", "Success", "Mean", "p50", "p95", "p99", "Max", "req/s", "Errors"]),
             _row(["---"] * 10)]  # fmt: skip
    for lvl in levels:
        if "clients" not in lvl:
            continue
        errors = ", ".join(f"{k}: {v}" for k, v in lvl["errors"].items()) or "none"
        lines.append(_row([str(lvl["clients"]), str(lvl["requests"]), _num(lvl["success_rate"] * 100, "{:.2f} %"),
                           *[_num(lvl[k], "{:.0f} ms") for k in ("mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms")],
                           _num(lvl["req_per_s"]), errors]))  # fmt: skip
    return lines


def by_request(levels: list[dict]) -> list[str]:
    top = max((lvl for lvl in levels if "by_request" in lvl), key=lambda x: x["clients"], default=None)
    if not top:
        return []
    lines = [f"By request at {top['clients']} clients:", "", _row(["Request", "n", "Mean", "p95"]), _row(["---"] * 4)]
    for kind, v in top["by_request"].items():
        lines.append(_row([kind, str(v["n"]), _num(v["mean_ms"], "{:.0f} ms"), _num(v["p95_ms"], "{:.0f} ms")]))
    return [*lines, ""]


NOTES = [
    "Notes on the summary:",
    "",
    "- Throughput: one file per transfer, the same HTTP client (http.client, 1 MiB blocks) for BioFileManager and "
    "nginx; our upload is tus creation + PATCHes of 64 MiB with `BIOFM_UPLOAD_FSYNC=completion` (the file is on "
    "disk before the upload reports complete; nginx, scp and rsync do not sync). scp/rsync/curl times include "
    "their process start and, for ssh, the handshake.",
    "- Resume after client kill: a tus client process is SIGKILLed in the middle of a PATCH; the figure is from "
    "starting the new client process to its first resumed chunk (256 KiB) being acknowledged.",
    "- Resume after server SIGKILL: gunicorn (master and workers) is killed while it is writing a PATCH, then "
    "restarted on the same port; the figure is from the restarted server answering /healthz to the first resumed "
    "chunk being acknowledged. The PATCH that died with the server left the upload's lease behind; nothing "
    "renews it any more, so it lapses within `BIOFM_UPLOAD_LEASE_SECONDS` (15 s) and until then the client "
    "gets 423 and waits.",
    "- Lossy network: each connection through the proxy is broken with the given probability (request or response "
    "body cut at a random byte; a third of them stall 2.5 s first, past the client's 2 s timeout). The client "
    "resumes uploads from the server's offset (HEAD) and downloads with Range + If-Range. The overhead is against "
    "the same transfers through the proxy with no faults.",
    "",
]


def markdown(data: dict) -> str:
    env = data["environment"]
    out = [
        f"# BioFileManager performance and resilience — {data['date']} ({data['mode']})",
        "",
        f"Run with `{data['command']}` at commit `{env['commit']}`; {env['cpus']} CPUs ({env['cpu']}), "
        f"{env['mem_gib']:.0f} GiB RAM, {env['kernel']}, Python {env['python']}, database {env['database']}, "
        f"load average {env['load_before']} before and {env['load_after']} after; suite took "
        f"{data['duration_s']:.0f} s. All servers on 127.0.0.1, all files on the same disk.",
        "",
        "Targets are reported, not asserted. Every number below comes from this run's JSON file.",
        "",
        "## Summary",
        "",
        *headline(data),
        "",
        *NOTES,
    ]
    if data.get("throughput"):
        out += ["## Throughput (one file, best of "
                f"{data['settings']['rounds']} round(s), `os.sync()` before each transfer)", ""]  # fmt: skip
        out += throughput_detail(data["throughput"])
        out += [f"![throughput vs file size]({data['plot']})", ""] if data.get("plot") else []
    if data.get("concurrency"):
        s = data["settings"]
        out += [
            "## Concurrency",
            "",
            f"Closed-loop asyncio clients (aiohttp), {s['seconds']:.0f} s per level, think time "
            f"{s['think_ms']} ms ± 50 % between operations; mix "
            + ", ".join(f"{k} {v}" for k, v in data["concurrency_mix"].items())
            + f"; {s['seed_files']} seeded files. Latency = every HTTP request, send → last body byte.",
            "",
            *concurrency_detail(data["concurrency"]),
            "",
            *by_request(data["concurrency"]),
        ]
    if data.get("resume") or data.get("lossy"):
        details = json.dumps({"resume": data.get("resume"), "lossy": data.get("lossy")}, indent=2)
        out += ["## Resume and lossy network", "", "```json", details, "```", ""]
    if data.get("failures"):
        out += ["## Suite failures", ""] + [f"- {name}: {error}" for name, error in data["failures"].items()] + [""]
    return "\n".join(out)


def plot(throughput: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    sizes = [(label, v) for label, v in throughput.items() if isinstance(v, dict) and "bytes" in v]
    if not sizes:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=False)
    for ax, direction in zip(axes, ("upload", "download"), strict=True):
        for tool in TOOLS:
            points = [(v["bytes"] / 1e6, (v.get(tool) or {}).get(f"{direction}_mb_s")) for _, v in sizes]
            points = [(x, y) for x, y in points if y]
            if points:
                style = {"linewidth": 2.5, "color": "black"} if tool == "biofm" else {"linewidth": 1.2}
                ax.plot(*zip(*points, strict=True), marker="o", label=LABELS[tool], **style)
        ax.set_xscale("log")
        ax.set_xlabel("file size (MB)")
        ax.set_ylabel("MB/s")
        ax.set_title(direction.capitalize())
        ax.grid(True, alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
