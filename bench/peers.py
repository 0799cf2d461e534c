"""Published figures of peer systems, beside ours where the measure is the same.

Nothing here is measured by us: each row is quoted from the authors' paper
or repository with its source, measured on their hardware and their test
material. Only per-frame generation speed is given, because it is the one
measure the sources state in units we also measure; the quality figures the
papers report (FID, FVD, SyncNet-based sync scores and the like) are not
metrics our evaluator computes, so they are left out rather than set beside
numbers that mean something else. Where a source gives no number we could
read, the system is listed without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.common import load_history, md_table

TITLE = "Peer systems (published figures, not measured by us)"


@dataclass(frozen=True)
class Peer:
    system: str
    kind: str               # what the system does: the comparison only holds so far
    figure: str             # as the source states it
    ms_per_frame: float | None   # the same figure per frame (our arithmetic, shown)
    hardware: str
    source: str


PEERS: list[Peer] = [
    Peer("LivePortrait (Guo et al., 2024)", "video-driven portrait animation (implicit keypoints + warping + SPADE decoder)",
         "“generation speed reaches 12.8 ms on an RTX 4090 GPU with PyTorch”", 12.8, "NVIDIA RTX 4090",
         "arXiv:2407.03168, abstract"),
    Peer("LivePortrait, per module", "same; per-module inference times with torch.compile",
         "motion extractor 0.84 ms, warping module 5.21 ms, SPADE generator 7.59 ms, stitching/retargeting "
         "0.31 ms per frame (appearance extractor 0.82 ms, once per source)", round(0.84 + 5.21 + 7.59 + 0.31, 2),
         "NVIDIA RTX 4090", "github.com/KwaiVGI/LivePortrait, readme “Inference speed evaluation” "
         "(sum of the per-frame modules is ours)"),
    Peer("MuseTalk (Zhang et al., 2024)", "audio-driven lip-sync of an existing video, 256×256 face region, single-step latent inpainting",
         "“real-time inference with 30fps+ on an NVIDIA Tesla V100”", round(1000 / 30, 1), "NVIDIA Tesla V100",
         "github.com/TMElyralab/MuseTalk, README (overview)"),
    Peer("MuseTalk, real-time pipeline", "same, after per-avatar preparation (face detection, parsing, VAE encoding done once)",
         "“up to 50fps on an NVIDIA Tesla V100”", 20.0, "NVIDIA Tesla V100",
         "github.com/TMElyralab/MuseTalk, README (real-time inference)"),
    Peer("EchoMimic (Chen et al., 2024; AAAI 2025)", "audio-driven portrait animation, latent diffusion",
         "“~7mins/240frames” before and “~50s/240frames” after the accelerated models, on a V100",
         round(50_000 / 240, 0), "NVIDIA V100",
         "github.com/antgroup/echomimic, README updates 2024-07-17/25; paper arXiv:2407.08136"),
    Peer("EchoMimic, original models", "same, before acceleration", "“~7mins/240frames”",
         round(7 * 60_000 / 240, 0), "NVIDIA V100", "github.com/antgroup/echomimic, README"),
    Peer("FLOAT (Ki et al., 2024; ICCV 2025)", "audio-driven talking portrait, flow matching in a motion latent space",
         "speed compared only in a chart (repository `assets/fps.png`, paper); no number we could read", None,
         "–", "arXiv:2412.01064; github.com/deepbrainai-research/float"),
    Peer("Hallo (Xu et al., 2024)", "audio-driven portrait animation, hierarchical latent diffusion",
         "no inference-speed figure found in the sources we could read", None, "–", "arXiv:2406.08801"),
    Peer("SadTalker (Zhang et al., CVPR 2023)", "audio → 3DMM coefficients → face render",
         "no inference-speed figure found in the sources we could read", None, "–", "arXiv:2211.12194 (CVPR 2023)"),
]


def _our_speed(results: dict | None) -> dict:
    """Our per-frame figures: this run's speed section if it ran, else the last one in the history."""
    figs = (results or {}).get("speed", {}).get("figures") if results else None
    when = "this run"
    if not figs:
        for r in reversed(load_history()):
            s = r["sections"].get("speed")
            if s and s.get("status", "ok") == "ok" and s.get("figures"):
                figs, when = s["figures"], f"run of {r['date']}"
                break
    return {"figures": figs or {}, "when": when}


def run(out_dir: Path, results: dict | None = None) -> dict:
    from bench import common

    ours = _our_speed(results if results is not None else getattr(common, "RESULTS", None))
    f = ours["figures"]
    rows = []
    for p in PEERS:
        rows.append([p.system, p.kind, p.figure, p.ms_per_frame, p.hardware, p.source])
    our_rows = []
    if f:
        for key, label in (("renderer_cpu_ms_512_1t", "mesh renderer alone, work size 512, one thread (CPU ms/frame)"),
                           ("renderer_fps_512", "mesh renderer alone, work size 512, default threads")):
            if key in f:
                v = f[key] if "ms" in key else 1000 / f[key]
                our_rows.append([label, round(v, 1)])
        if "render_60s_wall_s" in f:
            # 60.96 s of audio at 25 fps = 1524 frames
            frames = round(60.96 * 25)
            our_rows.append([f"whole 60-s render incl. analysis and encoding (wall / {frames} frames)",
                             round(1000 * f["render_60s_wall_s"] / frames, 1)])
    md = [
        "These figures were measured by each system's authors on their own GPUs and material and are "
        "quoted, not reproduced; we ran none of these systems. The comparison is per-frame "
        "generation time only (ms per frame; where the source gives frames per second or a time for "
        "a number of frames, the conversion is our arithmetic). The systems differ in task and output "
        "size, noted in *what it does*. The quality figures these papers give (FID, FVD, SyncNet-based "
        "sync scores and the like) are not computed by our evaluator, so none is set beside ours.",
        "",
        md_table(["system", "what it does", "published figure", "ms/frame", "hardware", "source"], rows),
        "",
        f"Ours ({ours['when']}; 2-core CPU, no GPU; see *Speed*):",
        "",
        md_table(["SynchroRaMa (measured by us)", "ms/frame"], our_rows) if our_rows
        else "(no speed figures of ours yet: run `python -m bench.run_all --only speed`)",
    ]
    return {"title": TITLE, "markdown": "\n".join(md), "figures": {}}  # quoted figures are not ours to track
