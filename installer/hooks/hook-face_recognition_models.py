# dlib face-embedding weights for the identity metric of `synchrorama eval`.
from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("face_recognition_models")
