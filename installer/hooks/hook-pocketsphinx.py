# The en-us acoustic model, dictionary and language model ship in the package.
from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("pocketsphinx", subdir="model")
