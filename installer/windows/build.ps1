# Build the Windows installer on a Windows machine (PowerShell, from the repo root):
#   powershell -ExecutionPolicy Bypass -File installer\windows\build.ps1
# Needs Python 3.11 x64 and Inno Setup 6 (iscc.exe on PATH). Produces
# dist\SynchroRaMa-Studio-<version>-setup.exe. Uses the CPU torch wheel unless
# an NVIDIA GPU is present, like the Makefile.
$ErrorActionPreference = "Stop"
if (-not (Test-Path .venv)) { py -3.11 -m venv .venv }
$py = ".venv\Scripts\python.exe"
& $py -m pip install --upgrade pip wheel setuptools
$gpu = Get-Command nvidia-smi -ErrorAction SilentlyContinue
if ($gpu) { & $py -m pip install torch==2.13.0 }
else {
    if ($env:TORCH_CPU_INDEX) { & $py -m pip install torch==2.13.0 --index-url $env:TORCH_CPU_INDEX }
    else { & $py -m pip install torch==2.13.0 }
}
& $py -m pip install -e ".[all]" pyinstaller
& $py -m pip install --no-deps -r installer\requirements-extra.txt
& $py -m PyInstaller --noconfirm --clean --distpath dist --workpath build\pyinstaller installer\synchrorama.spec
$env:SYNCHRORAMA_VERSION = (& $py -c "import core; print(core.__version__)").Trim()
& dist\synchrorama\synchrorama.exe --version
iscc installer\windows\synchrorama.iss
