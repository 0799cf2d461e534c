# mediapipe's solutions load .tflite models and .binarypb graphs from its package folder.
from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs

datas = collect_data_files("mediapipe", includes=["**/*.tflite", "**/*.binarypb", "**/*.txt", "**/*.pbtxt"])
binaries = collect_dynamic_libs("mediapipe")
hiddenimports = ["mediapipe.python._framework_bindings"]
