/** JUnit XML for CI systems: one test case per service readiness and one per declared test. */
export interface JunitCase {
  name: string;
  classname: string;
  timeSeconds: number;
  failure?: { message: string; details?: string };
  systemOut?: string;
}

export function junitXml(suite: string, cases: JunitCase[], timestamp: Date): string {
  const failures = cases.filter((c) => c.failure).length;
  const total = cases.reduce((t, c) => t + c.timeSeconds, 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${esc(suite)}" tests="${cases.length}" failures="${failures}" time="${total.toFixed(3)}">`,
    `  <testsuite name="${esc(suite)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0" time="${total.toFixed(3)}" timestamp="${timestamp.toISOString()}">`,
  ];
  for (const c of cases) {
    const open = `    <testcase name="${esc(c.name)}" classname="${esc(c.classname)}" time="${c.timeSeconds.toFixed(3)}"`;
    if (!c.failure && !c.systemOut) { lines.push(`${open}/>`); continue; }
    lines.push(`${open}>`);
    if (c.failure) lines.push(`      <failure message="${esc(c.failure.message)}">${esc(c.failure.details ?? c.failure.message)}</failure>`);
    if (c.systemOut) lines.push(`      <system-out>${esc(c.systemOut)}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

function esc(s: string): string {
  // XML 1.0 forbids most control characters even escaped; drop them.
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
