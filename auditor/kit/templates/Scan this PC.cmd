@echo off
rem The home kit's launcher for Windows: find Python 3.11 or newer (the py launcher of python.org, or the
rem Microsoft Store's python3 / python), then let kit\launch.py do the rest. The window stays open at the end.
setlocal
cd /d "%~dp0"
set "CHECK=import sys; sys.exit(sys.version_info < (3, 11))"
for %%V in (3.13 3.12 3.11) do (
    py -%%V -c "%CHECK%" >nul 2>&1 && ( py -%%V "%~dp0kit\launch.py" %* & goto :done )
)
for %%P in (python3 python) do (
    %%P -c "%CHECK%" >nul 2>&1 && ( %%P "%~dp0kit\launch.py" %* & goto :done )
)
rem No Python to read kit.json with: its language is found by findstr (kit build writes it as "lang": "da").
findstr /c:"\"lang\": \"da\"" "%~dp0kit\kit.json" >nul 2>&1 && goto :danish
echo This check needs Python 3.11 or newer, which this PC does not have.
echo Install "Python 3.12" from the Microsoft Store (or from https://www.python.org/downloads/windows/),
echo then double-click this file again.
goto :done
:danish
rem This file is UTF-8: the console shows its Danish letters in code page 65001.
chcp 65001 >nul
echo Denne kontrol kræver Python 3.11 eller nyere, og det har denne pc ikke.
echo Installér "Python 3.12" fra Microsoft Store (eller fra https://www.python.org/downloads/windows/),
echo og dobbeltklik så på denne fil igen.
:done
echo.
pause
