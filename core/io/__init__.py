"""Media and file I/O: audio, images, video (through imageio-ffmpeg's binary)."""
