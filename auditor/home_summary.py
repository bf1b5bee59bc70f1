"""What an employee reads after `auditor scan --home`: one line per problem in plain words, with the fix for
this computer's operating system only, in English or Danish, and the file to hand in on the last line.

The fleet summary speaks to the processor (check ids, admin commands for three systems); this one speaks to
the person at the keyboard, so it has its own words: one plain-language text per check in `_TEXTS`. They are
kept in this one table so that a message catalogue (the report's gettext catalogue) can absorb them later.
A check without a text here (a third-party pack's) is named by its title and left to the IT contact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path

from auditor.models import Finding, Platform, ScanResult, Status
from auditor.records import record

ANY = "any"  # a fix that is the same on every operating system


@record
class HomeText:
    """The plain words for one check: the problem, and the fix per operating system ("any" for all).

    Attributes:
        problem: language -> one sentence saying what is wrong, without jargon.
        fix: platform value (or "any") -> language -> what the employee does, via a setting where one exists.
        names_resource: the failing resources (a drive, a backup job, a VPN profile) help the reader find it.
    """

    problem: Mapping[str, str]
    fix: Mapping[str, Mapping[str, str]]
    names_resource: bool = False


def _t(en: str, da: str) -> dict[str, str]:
    return {"en": en, "da": da}


_IT_SETS_UP = _t("nothing for you to do; your IT contact sets this up.",
                 "intet for dig at gøre; din IT-kontakt sætter det op.")
_IT_DECIDES = _t("nothing you can change yourself; hand in the file and your IT contact decides.",
                 "intet du selv kan ændre; aflever filen, så beslutter din IT-kontakt.")
_REMOVE_SSH = _t("if you do not log in to this computer from elsewhere, remove the SSH server (on Debian or Ubuntu: "
                 "sudo apt remove openssh-server); otherwise ask your IT contact.",
                 "hvis du ikke logger ind på computeren udefra, så fjern SSH-serveren (på Debian eller Ubuntu: "
                 "sudo apt remove openssh-server); ellers spørg din IT-kontakt.")
_SSH_WEAK = HomeText(_t("The remote-login service (SSH server) on this computer accepts weak settings",
                        "Fjernlogin-tjenesten (SSH-serveren) på computeren accepterer svage indstillinger"),
                     {ANY: _REMOVE_SSH})
_DATABASE = HomeText(_t("A database server (PostgreSQL, MySQL or MariaDB) on this computer is not set up as the "
                        "agreement requires",
                        "En databaseserver (PostgreSQL, MySQL eller MariaDB) på computeren er ikke sat op, som "
                        "aftalen kræver"),
                     {ANY: _t("if you do not use it, uninstall it; otherwise ask your IT contact.",
                              "bruger du den ikke, så afinstaller den; ellers spørg din IT-kontakt.")})
_TLS = HomeText(_t("A secure web or mail service on this computer uses weaker encryption than agreed",
                   "En sikker web- eller mailtjeneste på computeren bruger svagere kryptering end aftalt"),
                {ANY: _t("ask your IT contact.", "spørg din IT-kontakt.")})

_TEXTS: dict[str, HomeText] = {
    "BACKUP-0010": HomeText(
        _t("No recent backup of this computer was found", "Der blev ikke fundet en ny sikkerhedskopi af computeren"),
        {"windows": _t("start the backup program your employer gave you and let it finish; if you have none, ask "
                       "your IT contact.",
                       "start det backupprogram, du har fået af din arbejdsgiver, og lad det køre færdigt; har du "
                       "intet, så spørg din IT-kontakt."),
         "macos": _t("turn on Time Machine with an encrypted backup disk (System Settings > General > Time Machine) "
                     "and let it finish a backup.",
                     "slå Time Machine til med en krypteret backupdisk (Systemindstillinger > Generelt > Time "
                     "Machine), og lad den tage en sikkerhedskopi."),
         "linux": _t("start the backup program your employer set up (for example Backups) and let it finish; if you "
                     "have none, ask your IT contact.",
                     "start det backupprogram, din arbejdsgiver har sat op (for eksempel Sikkerhedskopier), og lad "
                     "det køre færdigt; har du intet, så spørg din IT-kontakt.")}),
    "BACKUP-0020": HomeText(
        _t("It could not be shown that your backups are encrypted",
           "Det kunne ikke påvises, at dine sikkerhedskopier er krypterede"),
        {"macos": _t("in System Settings > General > Time Machine, remove the backup disk, add it again and tick "
                     "“Encrypt backups”.",
                     "i Systemindstillinger > Generelt > Time Machine: fjern backupdisken, tilføj den igen, og "
                     "sæt flueben ved “Krypter sikkerhedskopier”."),
         ANY: _t("ask your IT contact to turn on encryption in the backup program.",
                 "bed din IT-kontakt om at slå kryptering til i backupprogrammet.")},
        names_resource=True),
    "DISK-0010": HomeText(
        _t("The disk is not encrypted, so anyone holding the computer can read its files",
           "Disken er ikke krypteret, så enhver, der har computeren i hænde, kan læse filerne"),
        {"windows": _t("turn on encryption in Settings > Privacy & security > Device encryption (or Control Panel > "
                       "BitLocker Drive Encryption > Turn on BitLocker).",
                       "slå kryptering til under Indstillinger > Privatliv og sikkerhed > Enhedskryptering (eller "
                       "Kontrolpanel > BitLocker-drevkryptering > Aktivér BitLocker)."),
         "macos": _t("turn on FileVault in System Settings > Privacy & Security > FileVault.",
                     "slå FileVault til under Systemindstillinger > Anonymitet & sikkerhed > FileVault."),
         "linux": _t("disk encryption can only be chosen when the system is installed; ask your IT contact.",
                     "diskkryptering kan kun vælges, når systemet installeres; spørg din IT-kontakt.")},
        names_resource=True),
    "DISK-0020": HomeText(
        _t("The disk encryption is weaker than the agreed AES-256",
           "Diskkrypteringen er svagere end den aftalte AES-256"),
        {"macos": _IT_DECIDES,
         "windows": _t("ask your IT contact: the drive must be encrypted again with 256-bit BitLocker.",
                       "spørg din IT-kontakt: drevet skal krypteres igen med 256-bit BitLocker."),
         "linux": _t("ask your IT contact: the disk must be encrypted again with a 256-bit key.",
                     "spørg din IT-kontakt: disken skal krypteres igen med en 256-bit nøgle.")},
        names_resource=True),
    "DISK-0030": HomeText(
        _t("Memory that is swapped to the disk is not encrypted",
           "Hukommelse, der flyttes ud på disken, er ikke krypteret"),
        {ANY: _t("ask your IT contact to encrypt the swap space or turn it off.",
                 "bed din IT-kontakt om at kryptere swap-området eller slå det fra.")}),
    "DISK-0040": HomeText(
        _t("Disk encryption is on but is not protecting the disk right now (paused or not finished)",
           "Diskkrypteringen er slået til, men beskytter ikke disken lige nu (sat på pause eller ikke færdig)"),
        {"windows": _t("open Control Panel > BitLocker Drive Encryption, choose “Resume protection” and let "
                       "the encryption finish.",
                       "åbn Kontrolpanel > BitLocker-drevkryptering, vælg “Genoptag beskyttelse”, og lad "
                       "krypteringen blive færdig."),
         "macos": _t("open System Settings > Privacy & Security > FileVault and let it finish (keep the Mac "
                     "plugged in).",
                     "åbn Systemindstillinger > Anonymitet & sikkerhed > FileVault, og lad den blive færdig (hold "
                     "Mac'en tilsluttet strøm)."),
         ANY: _t("ask your IT contact.", "spørg din IT-kontakt.")},
        names_resource=True),
    "FW-0010": HomeText(
        _t("The firewall is off, or could not be shown to block unrequested connections",
           "Firewallen er slået fra eller kunne ikke vises at blokere uønskede forbindelser"),
        {"windows": _t("open Windows Security > Firewall & network protection and turn the firewall on for every "
                       "network.",
                       "åbn Windows-sikkerhed > Firewall og netværksbeskyttelse, og slå firewallen til for alle "
                       "netværk."),
         "macos": _t("turn the firewall on in System Settings > Network > Firewall.",
                     "slå firewallen til under Systemindstillinger > Netværk > Firewall."),
         "linux": _t("on Ubuntu, type sudo ufw enable in a terminal; on other systems ask your IT contact.",
                     "på Ubuntu skriver du sudo ufw enable i en terminal; på andre systemer spørger du din "
                     "IT-kontakt.")}),
    "LOCK-0010": HomeText(
        _t("The screen does not lock by itself soon enough when you leave the computer",
           "Skærmen låser ikke af sig selv hurtigt nok, når du går fra computeren"),
        {"windows": _t("in Settings > System > Power & battery > Screen and sleep, let the screen turn off after a "
                       "few minutes, and in Settings > Accounts > Sign-in options require sign-in when the PC wakes "
                       "up.",
                       "under Indstillinger > System > Strøm og batteri > Skærm og slumre: lad skærmen slukke efter "
                       "få minutter, og under Indstillinger > Konti > Indstillinger for logon: kræv logon, når "
                       "pc'en vågner."),
         "macos": _t("in System Settings > Lock Screen, require the password immediately after the screen saver "
                     "starts or the display turns off, and start the screen saver after a few minutes.",
                     "under Systemindstillinger > Låseskærm: kræv adgangskode straks, når pauseskærmen starter "
                     "eller skærmen slukkes, og start pauseskærmen efter få minutter."),
         "linux": _t("in Settings > Privacy > Screen Lock, turn on Automatic Screen Lock with a delay of a few "
                     "minutes.",
                     "under Indstillinger > Privatliv > Skærmlås: slå Automatisk skærmlås til med en forsinkelse "
                     "på få minutter.")}),
    "LOG-0010": HomeText(
        _t("The computer does not keep the security log the agreement asks for",
           "Computeren fører ikke den sikkerhedslog, som aftalen kræver"),
        {ANY: _IT_SETS_UP}),
    "LOG-0020": HomeText(
        _t("The computer's logs are not kept long enough", "Computerens logge gemmes ikke længe nok"),
        {ANY: _IT_SETS_UP}),
    "LOG-0030": HomeText(
        _t("The computer's logs are not sent to your employer's log store",
           "Computerens logge sendes ikke til din arbejdsgivers logopsamling"),
        {ANY: _IT_SETS_UP}),
    "LOG-0040": HomeText(
        _t("The computer's clock is not set automatically", "Computerens ur stilles ikke automatisk"),
        {"windows": _t("in Settings > Time & language > Date & time, turn on “Set time automatically”.",
                       "under Indstillinger > Tid og sprog > Dato og klokkeslæt: slå “Indstil klokkeslæt "
                       "automatisk” til."),
         "macos": _t("in System Settings > General > Date & Time, turn on “Set time and date automatically”.",
                     "under Systemindstillinger > Generelt > Dato & tid: slå “Indstil tid og dato automatisk” til."),
         "linux": _t("in Settings > Date & Time, turn on “Automatic Date & Time”.",
                     "under Indstillinger > Dato & tid: slå “Automatisk dato & tid” til.")}),
    "MALW-0010": HomeText(
        _t("Virus protection is off or out of date", "Virusbeskyttelsen er slået fra eller forældet"),
        {"windows": _t("open Windows Security > Virus & threat protection, turn on Real-time protection and choose "
                       "“Check for updates”.",
                       "åbn Windows-sikkerhed > Virus- og trusselsbeskyttelse, slå Beskyttelse i realtid til, og "
                       "vælg “Søg efter opdateringer”."),
         "macos": _t("in System Settings > General > Software Update > Automatic updates, turn on “Install Security "
                     "Responses and system files”, then install the waiting updates.",
                     "under Systemindstillinger > Generelt > Softwareopdatering > Automatiske opdateringer: slå "
                     "“Installer sikkerhedssvar og systemfiler” til, og installer så de ventende opdateringer."),
         ANY: _t("ask your IT contact.", "spørg din IT-kontakt.")}),
    "NET-0010": HomeText(
        _t("A program on this computer accepts connections from the network that the agreement does not allow",
           "Et program på computeren modtager forbindelser fra netværket, som aftalen ikke tillader"),
        {"windows": _t("turn off sharing you do not use (Settings > Network & internet > Advanced network settings "
                       "> Advanced sharing settings) or ask your IT contact.",
                       "slå deling fra, som du ikke bruger (Indstillinger > Netværk og internet > Avancerede "
                       "netværksindstillinger > Avancerede delingsindstillinger), eller spørg din IT-kontakt."),
         "macos": _t("turn off every kind of sharing you do not use in System Settings > General > Sharing.",
                     "slå al deling fra, som du ikke bruger, under Systemindstillinger > Generelt > Deling."),
         ANY: _t("remove programs you do not use that accept connections, or ask your IT contact.",
                 "fjern programmer, du ikke bruger, som modtager forbindelser, eller spørg din IT-kontakt.")}),
    "NET-0020": HomeText(
        _t("A remote-control service that does not encrypt (such as Telnet, FTP or VNC) is switched on",
           "En fjernstyringstjeneste uden kryptering (som Telnet, FTP eller VNC) er slået til"),
        {"macos": _t("in System Settings > General > Sharing, turn off Screen Sharing and Remote Management unless "
                     "your IT contact asked for them.",
                     "under Systemindstillinger > Generelt > Deling: slå Skærmdeling og Fjernadministration fra, "
                     "medmindre din IT-kontakt har bedt om dem."),
         ANY: _t("uninstall remote-control programs you do not use, or ask your IT contact.",
                 "afinstaller fjernstyringsprogrammer, du ikke bruger, eller spørg din IT-kontakt.")}),
    "PATCH-0010": HomeText(
        _t("Security updates are waiting to be installed, or this system version no longer gets them",
           "Sikkerhedsopdateringer venter på at blive installeret, eller systemversionen får dem ikke længere"),
        {"windows": _t("open Settings > Windows Update, choose “Install all” and restart.",
                       "åbn Indstillinger > Windows Update, vælg “Installer alle”, og genstart."),
         "macos": _t("open System Settings > General > Software Update, install the updates and restart.",
                     "åbn Systemindstillinger > Generelt > Softwareopdatering, installer opdateringerne, og "
                     "genstart."),
         "linux": _t("open Software Updater (or Software > Updates), install all updates and restart.",
                     "åbn Softwareopdatering (eller Software > Opdateringer), installer alle opdateringer, og "
                     "genstart.")}),
    "PII-0010": HomeText(
        _t("Files with CPR numbers lie unprotected on this computer",
           "Filer med CPR-numre ligger ubeskyttet på computeren"),
        {ANY: _t("ask your IT contact where they belong, move them there and delete the copies on this computer.",
                 "spørg din IT-kontakt, hvor de hører hjemme, flyt dem derhen, og slet kopierne på computeren.")}),
    "PII-0020": HomeText(
        _t("Files with many e-mail addresses or bank account numbers lie on this computer",
           "Filer med mange e-mailadresser eller kontonumre ligger på computeren"),
        {ANY: _t("ask your IT contact where they belong, move them there and delete the copies on this computer.",
                 "spørg din IT-kontakt, hvor de hører hjemme, flyt dem derhen, og slet kopierne på computeren.")}),
    "VPN-0010": HomeText(
        _t("The work VPN is not set up on this computer", "Arbejds-VPN'en er ikke sat op på computeren"),
        {ANY: _t("install the VPN program your IT contact gave you and its settings.",
                 "installer det VPN-program og de indstillinger, du har fået af din IT-kontakt.")}),
    "VPN-0020": HomeText(
        _t("The work VPN was not connected during the check", "Arbejds-VPN'en var ikke forbundet under kontrollen"),
        {ANY: _t("connect the VPN as you do when you work, and run the check again.",
                 "forbind VPN'en, som du gør, når du arbejder, og kør kontrollen igen.")}),
    "VPN-0030": HomeText(
        _t("The VPN uses weaker encryption than agreed", "VPN'en bruger svagere kryptering end aftalt"),
        {ANY: _t("ask your IT contact for new VPN settings.", "bed din IT-kontakt om nye VPN-indstillinger.")},
        names_resource=True),
}

# Families whose checks all mean one thing to the person at the keyboard (one SSH server, one database, one
# secure service), so a check added to them later has its plain words already.
_FAMILIES: dict[str, HomeText] = {"SSH": _SSH_WEAK, "DB": _DATABASE, "TLS": _TLS}

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "all_fine": "Your computer meets the security requirements that were checked ({fine} checks).",
        "attention_1": "1 thing on this computer needs attention ({fine} checks are fine):",
        "attention_n": "{n} things on this computer need attention ({fine} checks are fine):",
        "line": " • {problem}. To fix it: {fix}",
        "unknown_problem": "Not met: {title}",
        "unknown_fix": "ask your IT contact.",
        "for_it_1": "1 more thing needs a closer look by your IT contact; the file you hand in tells them what.",
        "for_it_n": "{n} more things need a closer look by your IT contact; the file you hand in tells them what.",
        "admin_windows": "Some settings could only be read with administrator rights: run the check again in a "
                         "PowerShell opened with “Run as administrator”.",
        "admin_other": "Some settings could only be read with administrator rights: run the check again with sudo "
                       "in front of the command.",
        "not_checked": "This computer could not be checked ({reason}); hand in the file anyway so that your IT "
                       "contact sees why.",
        "interrupted": "The check was stopped before the end: run it again and let it finish.",
        "hand_in": "Hand in this one file to your IT or security contact (it is encrypted; only they can open it):",
        "no_seal": "Nothing was sealed for handing in: ask your IT or security contact for their seal.pub file and "
                   "run the check again with --seal-to seal.pub.",
    },
    "da": {
        "all_fine": "Din computer opfylder de sikkerhedskrav, der blev kontrolleret ({fine} kontroller).",
        "attention_1": "1 ting på computeren skal rettes ({fine} kontroller er i orden):",
        "attention_n": "{n} ting på computeren skal rettes ({fine} kontroller er i orden):",
        "line": " • {problem}. Sådan retter du det: {fix}",
        "unknown_problem": "Ikke opfyldt: {title}",
        "unknown_fix": "spørg din IT-kontakt.",
        "for_it_1": "1 ting mere skal din IT-kontakt se nærmere på; filen, du afleverer, fortæller hvad.",
        "for_it_n": "{n} ting mere skal din IT-kontakt se nærmere på; filen, du afleverer, fortæller hvad.",
        "admin_windows": "Nogle indstillinger kan kun læses med administratorrettigheder: kør kontrollen igen i en "
                         "PowerShell åbnet med “Kør som administrator”.",
        "admin_other": "Nogle indstillinger kan kun læses med administratorrettigheder: kør kontrollen igen med "
                       "sudo foran kommandoen.",
        "not_checked": "Computeren kunne ikke kontrolleres ({reason}); aflever filen alligevel, så din IT-kontakt "
                       "kan se hvorfor.",
        "interrupted": "Kontrollen blev stoppet før tid: kør den igen, og lad den blive færdig.",
        "hand_in": "Aflever denne ene fil til din IT- eller sikkerhedskontakt (den er krypteret; kun de kan åbne "
                   "den):",
        "no_seal": "Intet blev forseglet til aflevering: bed din IT- eller sikkerhedskontakt om deres seal.pub-fil, "
                   "og kør kontrollen igen med --seal-to seal.pub.",
    },
}


@record
class _Check:
    """One check's findings on this computer, folded into one verdict for the summary."""

    check_id: str
    title: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.FAIL]

    @property
    def unsettled(self) -> bool:
        """Borderline or unreadable: for the IT contact to judge from the evidence, not for the employee."""
        return any(f.status in (Status.ERROR, Status.WARN) for f in self.findings)


def home_lines(result: ScanResult, bundle: Path | None, lang: str = "en") -> list[str]:
    """The summary as plain lines (no markup): headline, one line per failing check, notes, then the file."""
    words = _WORDS["da" if lang == "da" else "en"]
    target = result.targets[0] if result.targets else None
    system = target.system if target else None
    platform = system.platform if system else None
    checks: dict[str, _Check] = {}
    for finding in (f for t in result.targets for f in t.findings):
        spec = result.checks.get(finding.check_id)
        checks.setdefault(finding.check_id, _Check(finding.check_id, spec.title if spec else finding.check_id))
        checks[finding.check_id].findings.append(finding)
    problems = [c for c in checks.values() if c.failing]
    unsettled = [c for c in checks.values() if not c.failing and c.unsettled]
    fine = sum(1 for c in checks.values() if not c.failing and not c.unsettled
               and any(f.status is Status.PASS for f in c.findings))
    lines = [""]
    if result.interrupted:
        lines.append(words["interrupted"])
    if target and target.connection_error:
        lines.append(words["not_checked"].format(reason=" ".join(target.connection_error.split())))
    elif not problems:
        lines.append(words["all_fine"].format(fine=fine))
    else:
        # Checks that share their plain words (three sshd settings: one SSH server) make one line.
        said = list(dict.fromkeys(_problem_line(c, platform, lang, words) for c in problems))
        key = "attention_1" if len(said) == 1 else "attention_n"
        lines.append(words[key].format(n=len(said), fine=fine))
        lines += said
    if unsettled:
        lines.append(words["for_it_1" if len(unsettled) == 1 else "for_it_n"].format(n=len(unsettled)))
    if _needs_admin(result, system is not None and system.is_root):
        lines.append(words["admin_windows" if platform is Platform.WINDOWS else "admin_other"])
    lines.append("")
    if bundle is None:
        lines.append(words["no_seal"])
    else:
        lines += [words["hand_in"], str(bundle.resolve())]
    return lines


def home_text(check_id: str) -> HomeText | None:
    """A check's plain words: its own, else its family's (SSH-, DB-, TLS-); None for a check without them."""
    return _TEXTS.get(check_id) or _FAMILIES.get(check_id.partition("-")[0])


def _problem_line(check: _Check, platform: Platform | None, lang: str, words: Mapping[str, str]) -> str:
    text = home_text(check.check_id)
    if text is None:
        return words["line"].format(problem=words["unknown_problem"].format(title=check.title),
                                    fix=words["unknown_fix"])
    problem = text.problem[lang if lang in text.problem else "en"]
    if text.names_resource:
        problem += _resources(check.failing)
    fixes = text.fix.get(platform.value if platform else ANY) or text.fix.get(ANY)
    fix = fixes[lang if lang in fixes else "en"] if fixes else words["unknown_fix"]
    return words["line"].format(problem=problem, fix=fix)


def _resources(findings: Sequence[Finding]) -> str:
    # A drive label or VPN profile name is the host's text: never a line break (one line per problem).
    names = list(dict.fromkeys(" ".join(f.resource.split()) for f in findings if f.resource.strip()))
    return f" ({', '.join(names)})" if names else ""


def _needs_admin(result: ScanResult, is_root: bool) -> bool:
    """Some check was skipped for want of rights this scan did not have (never said to an administrator)."""
    return not is_root and any(f.status is Status.SKIPPED and ("root" in f.skip_reason or "sudo" in f.skip_reason)
                               for t in result.targets for f in t.findings)
