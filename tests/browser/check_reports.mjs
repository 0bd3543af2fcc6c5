// Opens the demo's HTML audit reports in Debian's Chromium, headless, and
// checks what a reader sees once the page is laid out: the verdict, the loss
// curve drawn with a visible size, the audit grid with one row per layer-block
// and the sampled cells marked, and the checks table, with the failing cell of
// the altered run named. Exit 0 when every check holds, 1 naming the first
// that does not.
//
//   node check_reports.mjs REPORTS_DIR [CHROMIUM]
import { chromium } from 'playwright-core';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [dir, executable = '/usr/bin/chromium'] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node check_reports.mjs REPORTS_DIR [CHROMIUM]');
  process.exit(2);
}

function expect(ok, what) {
  if (!ok) throw new Error(what);
}

async function open(browser, name) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(pathToFileURL(path.join(dir, name)).href);
  return page;
}

async function visible(page, selector, what) {
  const box = await page.locator(selector).first().boundingBox();
  expect(box && box.width > 50 && box.height > 20, `${what}: '${selector}' is not laid out (${JSON.stringify(box)})`);
  return box;
}

// Rows of the table that follows the heading `title`, as arrays of cell texts.
async function tableAfter(page, title) {
  return page.evaluate((t) => {
    const h = [...document.querySelectorAll('h2')].find((e) => e.textContent.startsWith(t));
    let el = h && h.nextElementSibling;
    while (el && el.tagName !== 'TABLE') el = el.nextElementSibling;
    if (!el) return null;
    return [...el.querySelectorAll('tr')].map((tr) => [...tr.children].map((c) => c.textContent.trim()));
  }, title);
}

async function trainingReport(browser, name, verdict) {
  const page = await open(browser, name);
  const h1 = await page.locator('h1').innerText();
  expect(h1.includes(verdict), `${name}: the heading says '${h1}', expected ${verdict}`);
  const curve = await visible(page, 'svg polyline', `${name} loss curve`);
  const points = await page.locator('svg polyline').first().getAttribute('points');
  expect(points.trim().split(/\s+/).length === 800, `${name}: the loss curve has not one point per step`);
  await visible(page, 'table.grid', `${name} audit grid`);
  const gridRows = await page.locator('table.grid tr').count();
  expect(gridRows >= 4, `${name}: the grid shows ${gridRows} rows, the run has 4 layer-blocks`);
  const checks = await tableAfter(page, 'Checks');
  expect(checks && checks.length > 10, `${name}: no checks table`);
  await page.close();
  return { checks, curve };
}

const browser = await chromium.launch({ executablePath: executable, args: ['--no-sandbox'] });
try {
  const honest = await trainingReport(browser, 'train-audit.html', 'PASS');
  expect(honest.checks.slice(1).every((r) => !r.join(' ').includes('FAIL')), 'train-audit.html lists a failed check');

  const altered = await trainingReport(browser, 'train-audit-altered.html', 'FAIL');
  const failed = altered.checks.filter((r) => r.join(' ').includes('cell.loss') && r.join(' ').includes('3,1'));
  expect(failed.length === 1, 'train-audit-altered.html does not name cell.loss of cell 3,1');

  const infer = await open(browser, 'infer-audit.html');
  const h1 = await infer.locator('h1').innerText();
  expect(h1.includes('PASS'), `infer-audit.html: the heading says '${h1}'`);
  const inferChecks = await tableAfter(infer, 'Checks');
  expect(inferChecks && inferChecks.length > 3, 'infer-audit.html: no checks table');
  await visible(infer, 'table', 'infer-audit.html tables');
  console.log(`reports render: training audit PASS (${honest.checks.length - 1} checks, loss curve ` +
              `${Math.round(honest.curve.width)}x${Math.round(honest.curve.height)} px), altered run FAIL at cell 3,1 ` +
              `(cell.loss), inference audit PASS (${inferChecks.length - 1} checks)`);
} catch (e) {
  console.error(`check_reports: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
