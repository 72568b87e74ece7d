"""A test run as JUnit XML, the format every CI system reads."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from .models import CaseVerdict, TestRun


def junit_xml(run: TestRun) -> bytes:
    results = list(run.results.order_by("id"))
    duration = (run.finished_at - run.started_at).total_seconds() if run.finished_at and run.started_at else 0.0
    suite = ET.Element(
        "testsuite",
        name=f"agent {run.agent_id} version {run.version.number}",
        tests=str(len(results)),
        failures=str(run.failed_count),
        errors=str(run.error_count),
        time=f"{duration:.3f}",
    )
    for result in results:
        elapsed = (
            (result.finished_at - result.started_at).total_seconds()
            if result.finished_at and result.started_at
            else 0.0
        )
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"agent{run.agent_id}.v{run.version.number}",
            name=result.name,
            time=f"{elapsed:.3f}",
        )
        if result.verdict == CaseVerdict.FAIL:
            failure = result.failure or {}
            node = ET.SubElement(
                case, "failure", message=str(failure.get("message", "failed")), type=str(failure.get("expectation", ""))
            )
            node.text = json.dumps(failure, indent=2, ensure_ascii=False)
        elif result.verdict == CaseVerdict.ERROR:
            ET.SubElement(case, "error", message=result.error_message or "error")
        transcript = "\n".join(
            f"{t['role']}: {t.get('toolName') or ''} {t.get('content') or ''}".strip() for t in result.transcript
        )
        ET.SubElement(case, "system-out").text = transcript
    suites = ET.Element("testsuites")
    suites.append(suite)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)
