"""FW-0010 on Windows with a third-party firewall registered with Windows Security Center (recorded formats in
tests/fixtures/outputs/windows/, sources in its README)."""

from __future__ import annotations

from pathlib import Path

from auditor.collectors import firewall, windows
from auditor.collectors.native_facts import FirewallProduct, FirewallProfile, WindowsFirewall
from auditor.models import Platform, Status, SystemFacts
from auditor.transports.base import CommandResult
from checks.network import firewall_default_deny
from tests.auditor.fake_host import FakeHost, OlderRecording

OUT = Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "windows"
WIN = SystemFacts(Platform.WINDOWS, "Microsoft Windows 11 Pro", "10.0.26200", "windows", is_root=True)


def _host(name: str) -> FakeHost:
    return FakeHost({str(windows.FIREWALL): CommandResult(str(windows.FIREWALL), 0,
                                                          (OUT / name).read_text(encoding="utf-8"))})




def test_one_powershell_run_asks_both_the_profiles_and_security_center() -> None:
    # Given the firewall collector's requests on Windows
    (only,) = firewall.requests(WIN)[0]
    # Then one PowerShell run asks Get-NetFirewallProfile and root/SecurityCenter2 FirewallProduct, as JSON
    script = only.argv[-1]
    assert "Get-NetFirewallProfile" in script and "root/SecurityCenter2" in script and "FirewallProduct" in script
    assert script.rstrip().endswith("ConvertTo-Json -Depth 3")


def test_eset_firewall_registered_and_enabled_passes_fw_0010() -> None:
    # Given Windows Defender Firewall off on every profile and ESET Firewall enabled in Security Center
    facts = firewall.collect(_host("win11-firewall-eset-takeover.json"), WIN)
    assert isinstance(facts, WindowsFirewall)
    assert [p.enabled for p in facts.profiles] == [False, False, False]
    assert facts.products == (FirewallProduct("ESET Firewall", True, False),)
    # When FW-0010 judges it
    verdict = firewall_default_deny(facts)
    # Then it passes, naming the product and saying that Windows Defender Firewall is off
    assert verdict.status is Status.PASS
    assert verdict.message == ("ESET Firewall is registered with Windows Security Center and enabled; Windows "
                               "Defender Firewall is off.")
    assert verdict.observed["security_center"] == {"ESET Firewall": "enabled"}


def test_eset_firewall_registered_but_off_still_fails() -> None:
    # Given the same laptop with ESET Firewall switched off (productState 0x040000)
    facts = firewall.collect(_host("win11-firewall-eset-disabled.json"), WIN)
    assert facts.products == (FirewallProduct("ESET Firewall", False, False),)
    verdict = firewall_default_deny(facts)
    # Then FW-0010 fails, and says the registered product is off too
    assert verdict.status is Status.FAIL
    assert "Windows Defender Firewall: the Domain, Private, Public profile(s) are off" in verdict.message
    assert verdict.message.endswith("Windows Security Center lists ESET Firewall as a firewall, but it is off.")


def test_windows_server_without_security_center_fails_on_its_profiles() -> None:
    # Given Windows Server (no root/SecurityCenter2 namespace) with every profile off
    facts = firewall.collect(_host("winserver2022-firewall-no-security-center.json"), WIN)
    assert facts.products == () and "Invalid namespace" in facts.security_center
    verdict = firewall_default_deny(facts)
    # Then FW-0010 fails on the profiles as before, and the missing Security Center is only observed
    assert verdict.status is Status.FAIL
    assert verdict.message == "Windows Defender Firewall: the Domain, Private, Public profile(s) are off."
    assert "Invalid namespace" in verdict.observed["security_center"]


def test_all_profiles_on_passes_as_before() -> None:
    facts = firewall.collect(_host("win11-firewall-security-center.json"), WIN)
    assert firewall_default_deny(facts).status is Status.PASS and facts.products == ()


def test_a_recording_without_the_security_center_answer_still_replays() -> None:
    # Given a run recorded before the collector asked Security Center: only Get-NetFirewallProfile's answer
    old = (OUT / "win11-firewall-public-off.json").read_text(encoding="utf-8")
    host = OlderRecording({str(windows.FIREWALL_PROFILES): CommandResult(str(windows.FIREWALL_PROFILES), 0, old)})
    # When the firewall collector replays it
    facts = firewall.collect(host, WIN)
    # Then the profiles are read as before and Security Center is said not to be in the recording
    assert isinstance(facts, WindowsFirewall)
    assert {p.name: p.enabled for p in facts.profiles} == {"Domain": True, "Private": True, "Public": False}
    assert facts.products == () and "not recorded" in facts.security_center
    assert firewall_default_deny(facts).status is Status.FAIL


def test_unreadable_profiles_are_reported_by_name() -> None:
    facts = windows.parse_firewall({"Profiles": [], "ProfilesError": "Access is denied.", "Products": [],
                                    "ProductsError": None})
    assert dict(facts.unavailable) == {"Get-NetFirewallProfile": "Access is denied."}
    assert firewall_default_deny(facts).status is Status.FAIL


def test_windows_own_entry_in_security_center_is_not_a_third_party_firewall() -> None:
    # Given profiles off and only a product whose productState says Windows owns it (owner bits 0x100)
    facts = windows.parse_firewall({"Profiles": [{"Name": "Public", "Enabled": 0, "DefaultInboundAction": 0}],
                                    "Products": [{"displayName": "Windows Firewall", "productState": 0x061100}]})
    assert facts.products == (FirewallProduct("Windows Firewall", True, True),)
    # Then FW-0010 still fails
    assert firewall_default_deny(facts).status is Status.FAIL


def test_a_third_party_firewall_does_not_excuse_a_profile_that_is_on_and_lets_traffic_in() -> None:
    facts = WindowsFirewall((FirewallProfile("Domain", False, "block"), FirewallProfile("Private", True, "allow")),
                           products=(FirewallProduct("Norton Smart Firewall", True, False),))
    assert firewall_default_deny(facts).status is Status.FAIL


def test_product_state_decoding_is_shared_with_the_antivirus_products() -> None:
    # productState: bits 12-15 on (1), snoozed (2) or off (0); bits 8-11 owner (1 = Windows); bits 4-7 out of date
    assert windows.product_state(266240) == (True, True, False)  # 0x041000 third-party, on, current
    assert windows.product_state(393472) == (False, True, True)  # 0x060100 Windows' own, off
    assert windows.product_state(0x042000) == (False, True, False)  # snoozed is not on
    assert windows.product_state(None) == (False, False, False)


def test_a_third_party_firewall_covers_the_profiles_that_are_off() -> None:
    # Given only the Public profile off (the others on and blocking) and Norton's firewall enabled
    facts = WindowsFirewall((FirewallProfile("Domain", True, "block"), FirewallProfile("Public", False, "block")),
                           products=(FirewallProduct("Norton Smart Firewall", True, False),))
    verdict = firewall_default_deny(facts)
    assert verdict.status is Status.PASS
    assert verdict.message == ("Registered with Windows Security Center and enabled: Norton Smart Firewall; Windows "
                               "Defender Firewall is off for the Public profile(s).")
