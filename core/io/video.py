"""Stream frames to an MP4 (H.264 + AAC) and read videos frame by frame.

Frames are piped to ffmpeg one at a time so memory stays flat however long
the narration is. The output is written to a hidden temporary file and
renamed only when ffmpeg finished successfully: a cancelled or failed export
never leaves a half-written file under the final name.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from core.errors import DiskFullError, UserInputError
from core.io.ffmpeg import dies_with_parent, ffmpeg_exe, run_ffmpeg
from core.io.files import atomic_path


DISK_FULL_BYTES = 1 << 20   # less free than this where ffmpeg stopped: the disk filled up


@dataclass
class ExportSettings:
    fps: float = 25.0
    crf: int = 18            # x264 quality: lower is better, 18 is visually lossless
    preset: str = "veryfast"
    audio_bitrate: str = "160k"


class Mp4Writer:
    """Context manager: ``write(frame)`` RGB uint8 frames, audio muxed at close."""

    def __init__(self, out: str | Path, width: int, height: int, audio_path: str | Path | None,
                 settings: ExportSettings | None = None, expected_seconds: float | None = None):
        self.out = Path(out)
        self.expected_seconds = expected_seconds   # None: the narration's length, when there is one
        self.width, self.height = int(width), int(height)
        if self.width % 2 or self.height % 2:
            raise ValueError("H.264 yuv420p needs even frame sizes")
        self.audio_path = audio_path
        self.settings = settings or ExportSettings()
        self.frames_written = 0
        self._atomic = None
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> "Mp4Writer":
        self._check_room()
        self._atomic = atomic_path(self.out, suffix=".part.mp4")
        tmp = self._atomic.__enter__()
        s = self.settings
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{self.width}x{self.height}",
               "-r", f"{s.fps}", "-i", "-"]
        if self.audio_path:
            cmd += ["-i", str(self.audio_path), "-map", "0:v:0", "-map", "1:a:0",
                    "-c:a", "aac", "-b:a", s.audio_bitrate, "-shortest"]
        cmd += ["-c:v", "libx264", "-preset", s.preset, "-crf", str(s.crf),
                "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(tmp)]
        # ffmpeg's messages go to an anonymous file in the temp folder: nothing to leave behind
        # after a kill, and still readable when the output's disk is the one that is full
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=self._stderr, **dies_with_parent())
        return self

    def _check_room(self) -> None:
        """Refuse now (exit 2, nothing written) when the disk clearly cannot hold the video."""
        from core.io.audio import media_duration
        from core.io.checks import check_free_space, estimate_video_bytes

        seconds = self.expected_seconds
        if seconds is None and self.audio_path:
            seconds = media_duration(self.audio_path)   # the video lasts as long as its narration
        if seconds:
            s = self.settings
            check_free_space(self.out, estimate_video_bytes(seconds, self.width, self.height, s.fps, s.crf))

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame {frame.shape} {frame.dtype} != ({self.height}, {self.width}, 3) uint8")
        assert self._proc is not None and self._proc.stdin is not None
        try:
            # the array's own buffer (no bytes copy of every frame)
            self._proc.stdin.write(memoryview(np.ascontiguousarray(frame)).cast("B"))
        except BrokenPipeError:
            self._proc.wait()
            raise self._failure("ffmpeg stopped") from None
        self.frames_written += 1

    def _failure(self, what: str) -> Exception:
        """Why ffmpeg gave up: a full disk is the user's to fix (exit 2), anything else is a bug."""
        log = self._read_log()
        try:
            full = shutil.disk_usage(self.out.parent).free < DISK_FULL_BYTES
        except OSError:
            full = False
        if "No space left" in log or full:
            return DiskFullError("the disk is full.", self.out, "Free some space and try again.")
        return RuntimeError(f"{what} ({self._proc.returncode if self._proc else '?'}): {log}")

    def _read_log(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace").strip()[-500:]

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._proc is not None and self._atomic is not None
        try:
            if self._proc.stdin:
                try:
                    self._proc.stdin.close()
                except BrokenPipeError:
                    pass
            if exc_type is not None:
                self._proc.kill()
            rc = self._proc.wait()
            if exc_type is None and rc != 0:
                raise self._failure("ffmpeg failed")
        except BaseException as err:
            self._close_log()
            self._atomic.__exit__(type(err), err, err.__traceback__)
            raise
        self._close_log()
        self._atomic.__exit__(exc_type, exc, tb)

    def _close_log(self) -> None:
        self._stderr.close()


@dataclass
class VideoInfo:
    width: int
    height: int
    fps: float
    n_frames: int
    duration: float
    has_audio: bool
    video_codec: str = ""
    audio_codec: str = ""
    pix_fmt: str = ""


def probe(path: str | Path) -> VideoInfo:
    """Read container facts through ffmpeg's own report (no ffprobe shipped)."""
    import re

    path = Path(path)
    if not path.exists():
        raise UserInputError("video file not found.", path, "Check the path.")
    proc = run_ffmpeg(["-i", str(path), "-map", "0:v:0?", "-c", "copy", "-f", "null", "-"])
    text = proc.stderr.decode("utf-8", "replace")
    v = re.search(r"Stream #\S+.*?Video: (\w+)[^,]*, (\w+)[^,]*?(?:\([^)]*\))?, (\d+)x(\d+)", text)
    if not v:
        raise UserInputError("no video stream found.", path, "Use an MP4, MOV, MKV or AVI video.")
    fps_m = re.search(r"(\d+(?:\.\d+)?) fps", text)
    a = re.search(r"Stream #\S+.*?Audio: (\w+)", text)
    frames = re.findall(r"frame=\s*(\d+)", text)
    dur = re.search(r"Duration: (\d+):(\d+):(\d+\.\d+)", text)
    duration = 0.0
    if dur:
        h, m, s = dur.groups()
        duration = int(h) * 3600 + int(m) * 60 + float(s)
    return VideoInfo(
        width=int(v.group(3)), height=int(v.group(4)),
        fps=float(fps_m.group(1)) if fps_m else 0.0,
        n_frames=int(frames[-1]) if frames else 0,
        duration=duration, has_audio=a is not None,
        video_codec=v.group(1), audio_codec=a.group(1) if a else "", pix_fmt=v.group(2),
    )


def iter_frames(path: str | Path, size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
    """Yield RGB uint8 frames one at a time (optionally resized to (w, h))."""
    info = probe(path)
    w, h = size or (info.width, info.height)
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path)]
    if size:
        cmd += ["-vf", f"scale={w}:{h}"]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    nbytes = w * h * 3
    try:
        assert proc.stdout is not None
        while True:
            buf = proc.stdout.read(nbytes)
            if len(buf) < nbytes:
                break
            yield np.frombuffer(buf, np.uint8).reshape(h, w, 3)
    finally:
        proc.kill()
        proc.wait()
