"""The offline dependency audit (ledgerlink.devtools.audit): the vendored advisory snapshot covers every pin,
the installed environment has no known vulnerability in it, and the check finds one where an advisory does."""

from __future__ import annotations

import pytest

from ledgerlink.devtools import audit

SNAPSHOT = audit.load()


def test_the_installed_environment_has_no_known_vulnerability():
    report = audit.check(audit.installed_distributions(), SNAPSHOT)
    print("\n" + audit.summary(report, SNAPSHOT))
    assert report.ok, audit.summary(report, SNAPSHOT)
    assert report.checked >= len(audit.pinned())


def test_the_snapshot_covers_every_pin_and_the_installer():
    missing = {*audit.pinned(), "pip", "setuptools"} - set(SNAPSHOT["packages"])
    assert not missing, f"run `make audit-refresh`: {sorted(missing)}"


@pytest.mark.parametrize(
    ("version", "fixed"),
    [("4.2.14", "4.2.15"), ("5.0.7", "5.0.8"), ("4.2", "4.2.15")],
)
def test_a_version_an_advisory_covers_is_a_finding(version, fixed):
    """PYSEC-2024-70 (CVE-2024-42005): Django 4.2 before 4.2.15 and 5.0 before 5.0.8."""
    report = audit.check({"django": version}, SNAPSHOT)
    found = {f.advisory: f for f in report.findings}
    assert found["PYSEC-2024-70"].fixed == fixed and "CVE-2024-42005" in found["PYSEC-2024-70"].aliases
    assert not report.ok


@pytest.mark.parametrize("version", ["4.2.15", "5.0.8", "5.1"])
def test_a_fixed_version_is_not_a_finding(version):
    report = audit.check({"django": version}, SNAPSHOT)
    assert "PYSEC-2024-70" not in {f.advisory for f in report.findings}


def test_a_distribution_the_snapshot_does_not_know_fails_the_check():
    report = audit.check({"left-pad": "1.0", "ledgerlink": "0.1.0"}, SNAPSHOT)
    assert report.unknown == ("left-pad==1.0",) and report.checked == 1 and not report.ok


def test_refresh_reads_ranges_listed_versions_and_skips_withdrawn_advisories():
    raw = {
        "id": "PYSEC-0",
        "aliases": ["CVE-1"],
        "affected": [
            {
                "package": {"name": "Some_Lib"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2"}]}],
                "versions": ["1.0"],
            },
            {
                "package": {"name": "other"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "3.0"}]}],
            },
        ],
    }
    advisory = audit._advisory(raw, "some-lib")
    assert advisory == {"id": "PYSEC-0", "aliases": ["CVE-1"], "ranges": [("0", "1.2")], "versions": ["1.0"]}
    assert audit.affects(advisory, "1.1.9") == "1.2" and audit.affects(advisory, "1.2") is None
    never_fixed = audit._advisory(raw, "other")
    assert audit.affects(never_fixed, "9.0") == "" and audit.affects(never_fixed, "2.9") is None
    assert audit._advisory({**raw, "withdrawn": "2024-01-01T00:00:00Z"}, "some-lib") is None
