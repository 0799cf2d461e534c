# faster-whisper keeps its VAD model in an assets folder.
from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("faster_whisper")
