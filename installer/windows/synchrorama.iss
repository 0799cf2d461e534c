; Inno Setup script for SynchroRaMa Studio (Windows, x64).
; Built on a Windows machine by installer\windows\build.ps1 after PyInstaller
; has produced dist\synchrorama\. Not built or checked on Linux.
#define AppVersion GetEnv("SYNCHRORAMA_VERSION")

[Setup]
AppId={{6B1F4F0C-2F4B-4D53-9C55-0B1C7E3A9A21}
AppName=SynchroRaMa Studio
AppVersion={#AppVersion}
AppPublisher=SynchroRaMa Studio developers
DefaultDirName={autopf}\SynchroRaMa Studio
DefaultGroupName=SynchroRaMa Studio
OutputDir=..\..\dist
OutputBaseFilename=SynchroRaMa-Studio-{#AppVersion}-setup
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
Compression=lzma2/max
SolidCompression=yes
; per-user install needs no admin rights; models and caches live in %LOCALAPPDATA%
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
UninstallDisplayIcon={app}\synchrorama-studio.exe
WizardStyle=modern

[Files]
Source: "..\..\dist\synchrorama\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{group}\SynchroRaMa Studio"; Filename: "{app}\synchrorama-studio.exe"
Name: "{autodesktop}\SynchroRaMa Studio"; Filename: "{app}\synchrorama-studio.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Registry]
Root: HKA; Subkey: "Software\Classes\.synchrorama"; ValueType: string; ValueData: "SynchroRaMa.Project"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\SynchroRaMa.Project\shell\open\command"; ValueType: string; ValueData: """{app}\synchrorama-studio.exe"" --open ""%1"""; Flags: uninsdeletekey

[Run]
Filename: "{app}\synchrorama-studio.exe"; Description: "Start SynchroRaMa Studio"; Flags: nowait postinstall skipifsilent
