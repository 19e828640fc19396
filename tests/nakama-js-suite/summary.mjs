// Per-file counts from jest's --json results: passed, failed and skipped
// per test file, the totals, then each failing test's name.
// Usage: node summary.mjs results.json [--failures]
import { readFileSync } from "node:fs";
import { basename } from "node:path";

const results = JSON.parse(readFileSync(process.argv[2], "utf8"));
const rows = [];
const failing = [];
for (const file of results.testResults) {
  const name = basename(file.name);
  const count = { passed: 0, failed: 0, skipped: 0 };
  for (const t of file.assertionResults) {
    if (t.status === "passed") count.passed += 1;
    else if (t.status === "failed") {
      count.failed += 1;
      failing.push(`${name}: ${t.fullName}`);
    } else count.skipped += 1;
  }
  // A file that failed to run at all (a compile error) has no tests.
  if (file.assertionResults.length === 0 && file.status === "failed") {
    failing.push(`${name}: (the file did not run) ${file.message.split("\n")[0]}`);
  }
  rows.push([name, count.passed, count.failed, count.skipped]);
}
rows.sort((a, b) => a[0].localeCompare(b[0]));
const total = rows.reduce(
  (t, r) => [t[0], t[1] + r[1], t[2] + r[2], t[3] + r[3]],
  ["total", 0, 0, 0],
);
const width = Math.max(...rows.map((r) => r[0].length), 5);
const line = (r) =>
  `${r[0].padEnd(width)}  ${String(r[1]).padStart(6)}  ${String(r[2]).padStart(6)}  ${String(r[3]).padStart(7)}`;
console.log(line(["file", "passed", "failed", "skipped"]));
for (const r of rows) console.log(line(r));
console.log(line(total));
// it.each(adapters) runs a test once per socket adapter under one name:
// list each name once, with how many of its runs failed.
const times = new Map();
for (const f of failing) times.set(f, (times.get(f) ?? 0) + 1);
if (times.size > 0) {
  console.log("\nfailing:");
  for (const [f, n] of times) console.log(`  ${f}${n > 1 ? ` (x${n})` : ""}`);
}
