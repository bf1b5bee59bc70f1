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
echo This check needs Python 3.11 or newer, which this PC does not have.
echo Install "Python 3.12" from the Microsoft Store (or from https://www.python.org/downloads/windows/),
echo then double-click this file again.
:done
echo.
pause
