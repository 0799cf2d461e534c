# The project's own data: SER weights, manifests, calibration tables.
from PyInstaller.utils.hooks import collect_data_files, collect_submodules

datas = collect_data_files("core", includes=["**/*.json", "**/*.safetensors", "**/*.npz", "**/LICENCE*", "**/*.md"])
hiddenimports = collect_submodules("core")
