"""Offline dependency audit: every installed distribution checked against a vendored snapshot of the PyPA
advisory database (the data pip-audit's PyPI and OSV services serve), so `make test` needs no advisory
service at run time.

    python -m ledgerlink.devtools.audit                     # check; exit 1 on a known vulnerability
    python -m ledgerlink.devtools.audit refresh --database DIR   # rebuild the snapshot from a checkout

The snapshot (`advisories.json` beside this file) keeps, for each package pinned in constraints.txt plus the
installer's own (pip, setuptools), the advisories that name it: their ids, affected ranges and listed
versions. The check fails on a distribution whose installed version an advisory covers, and on one the
snapshot does not know (a new pin without a refresh would otherwise pass unchecked)."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).with_name("advisories.json")
CONSTRAINTS = Path(__file__).resolve().parents[3] / "constraints.txt"
# Installed in every virtualenv without a pin; audited all the same (pip has had advisories of its own).
INSTALLER = ("pip", "setuptools", "wheel")
# The project itself is not on the index: nothing to look up.
OWN = frozenset({"ledgerlink"})


def normalized(name: str) -> str:
    """PEP 503's form of a distribution name ("Django", "django_ninja" -> "django", "django-ninja")."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    advisory: str
    aliases: tuple[str, ...]
    fixed: str


@dataclass(frozen=True)
class Report:
    checked: int
    findings: tuple[Finding, ...]
    unknown: tuple[str, ...]  # installed, but not in the snapshot

    @property
    def ok(self) -> bool:
        return not self.findings and not self.unknown


def _version(text: str) -> Any:
    from packaging.version import InvalidVersion, Version  # a test-time dependency (pytest's)

    try:
        return Version(text)
    except InvalidVersion:
        return None


def affects(advisory: Mapping[str, Any], version: str) -> str | None:
    """The fixed version of the range that covers `version` ("" when none is listed), else None."""
    installed = _version(version)
    for start, fixed in advisory.get("ranges", ()) if installed is not None else ():
        low = _version(start) if start and start != "0" else None
        high = _version(fixed) if fixed else None
        if (low is None or installed >= low) and (high is None or installed < high):
            return str(fixed or "")
    # Listed by name though no range says so (or a version packaging cannot order).
    return "" if version in advisory.get("versions", ()) else None


def check(installed: Mapping[str, str], snapshot: Mapping[str, Any]) -> Report:
    """`installed`: normalized name -> version. Every distribution against the snapshot's advisories."""
    packages: Mapping[str, list[Mapping[str, Any]]] = snapshot["packages"]
    findings = []
    unknown = []
    for name, version in sorted(installed.items()):
        if name in OWN:
            continue
        if name not in packages:
            unknown.append(f"{name}=={version}")
            continue
        for advisory in packages[name]:
            fixed = affects(advisory, version)
            if fixed is not None:
                findings.append(Finding(name, version, advisory["id"], tuple(advisory["aliases"]), fixed))
    checked = sum(1 for name in installed if name not in OWN)
    return Report(checked, tuple(findings), tuple(unknown))


def installed_distributions() -> dict[str, str]:
    return {normalized(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}


def pinned(constraints: Path = CONSTRAINTS) -> dict[str, str]:
    found = {}
    for line in constraints.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            found[normalized(name)] = version.strip()
    return found


def load(path: Path = SNAPSHOT) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def summary(report: Report, snapshot: Mapping[str, Any]) -> str:
    advisories = sum(len(found) for found in snapshot["packages"].values())
    source = snapshot["source"]
    head = (
        f"audit: {report.checked} installed distributions checked offline against {advisories} advisories "
        f"for {len(snapshot['packages'])} packages ({source['name']} at {source['commit'][:12]}, "
        f"{source['date']}): {len(report.findings)} known vulnerabilities, {len(report.unknown)} unknown"
    )
    lines = [head]
    for f in report.findings:
        fix = f"fixed in {f.fixed}" if f.fixed else "no fixed version"
        lines.append(f"  VULNERABLE {f.package}=={f.version}: {f.advisory} {' '.join(f.aliases)} ({fix})")
    for entry in report.unknown:
        lines.append(f"  NOT IN SNAPSHOT {entry}: pin it and run `make audit-refresh`")
    return "\n".join(lines)


# --- refresh ------------------------------------------------------------------------------------------


def _advisory(raw: Mapping[str, Any], package: str) -> dict[str, Any] | None:
    """The parts of one OSV record that concern `package`; None for a withdrawn one."""
    if raw.get("withdrawn"):
        return None
    ranges: list[tuple[str, str]] = []
    versions: list[str] = []
    for affected in raw.get("affected") or []:
        if normalized(str((affected.get("package") or {}).get("name", ""))) != package:
            continue
        versions += [str(v) for v in affected.get("versions") or []]
        for found in affected.get("ranges") or []:
            if found.get("type") != "ECOSYSTEM":
                continue
            start = ""
            for event in found.get("events") or []:
                if "introduced" in event:
                    start = str(event["introduced"])
                elif "fixed" in event:
                    ranges.append((start, str(event["fixed"])))
                    start = ""
            if start:
                ranges.append((start, ""))  # introduced and never fixed
    return {
        "id": str(raw["id"]),
        "aliases": sorted(str(a) for a in raw.get("aliases") or []),
        "ranges": ranges,
        "versions": sorted(set(versions)),
    }


def refresh(database: Path, packages: Iterable[str]) -> dict[str, Any]:
    """A snapshot for `packages` from a checkout of the PyPA advisory database (its vulns/<name>/*.yaml)."""
    import yaml  # a test-time dependency (schemathesis's)

    commit = subprocess.run(
        ["git", "-C", str(database), "log", "-1", "--format=%H %cs"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    found: dict[str, list[dict[str, Any]]] = {}
    for package in sorted(set(packages)):
        folder = database / "vulns" / package
        records = (
            [yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.yaml"))] if folder.is_dir() else []
        )
        found[package] = [a for raw in records if (a := _advisory(raw, package)) is not None]
    return {
        "source": {"name": "PyPA advisory database", "commit": commit[0], "date": commit[1]},
        "packages": found,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ledgerlink.devtools.audit")
    sub = parser.add_subparsers(dest="command")
    again = sub.add_parser("refresh", help="rebuild the snapshot from a checkout of the advisory database")
    again.add_argument("--database", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "refresh":
        snapshot = refresh(args.database, [*pinned(), *INSTALLER])
        SNAPSHOT.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
        count = sum(len(found) for found in snapshot["packages"].values())
        print(f"audit: wrote {count} advisories for {len(snapshot['packages'])} packages to {SNAPSHOT}")
        return 0
    snapshot = load()
    report = check(installed_distributions(), snapshot)
    print(summary(report, snapshot))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
