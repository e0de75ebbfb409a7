// Lighthouse on the logged-in PWA (run by bench/lighthouse.sh, which installs
// Lighthouse + puppeteer-core into bench/.node and starts the app).
//
//   node bench/lighthouse.mjs BASE_URL RUNNER_SESSION_ID OUT_DIR
//
// Each page gets its own fresh browser profile. The person logs in through the
// real login form (so the app stores 'me' in IndexedDB and the server sets the
// session cookie), then Lighthouse audits the page in that same browser, in
// navigation mode with its default mobile emulation and simulated throttling.
// Lighthouse's storage reset is left on: by default (clearStorageTypes) it
// clears the HTTP cache, the service worker and Cache Storage but NOT cookies or
// IndexedDB, so the audit is a cold first load of the page by a person who is
// logged in on this device.
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';

import lighthouse from './.node/node_modules/lighthouse/core/index.js';
import puppeteer from './.node/node_modules/puppeteer-core/lib/esm/puppeteer/puppeteer-core.js';

const [base, sessionId, outDir] = process.argv.slice(2);
if (!base || !sessionId || !outDir) {
  console.error('usage: node bench/lighthouse.mjs BASE_URL RUNNER_SESSION_ID OUT_DIR');
  process.exit(2);
}

const CHROME_PATH = process.env.CHROME_PATH || '/usr/bin/chromium';
const CHROME_FLAGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const CATEGORIES = ['performance', 'accessibility', 'best-practices'];

const PAGES = [
  { name: 'participant-home', role: 'participant', label: 'participant home /#/', login: 'demo-participant', secret: '246810', path: '/#/' },
  { name: 'facilitator-runner', role: 'staff', label: `session runner /#/sessions/${sessionId}`, login: 'facilitator@example.org', secret: 'ipt-demo-2026', path: `/#/sessions/${sessionId}` },
];

async function logIn(page, login, secret) {
  await page.goto(`${base}/#/login`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('input[name="login"]');
  await page.type('input[name="login"]', login);
  await page.type('input[name="password"]', secret);
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/auth/login') && r.request().method() === 'POST'),
    page.click('form button[type="submit"]'),
  ]);
  // setMe() stores 'me' in IndexedDB and then draws the navigation.
  await page.waitForFunction(() => document.querySelectorAll('#nav a').length > 0 && location.hash === '#/', { timeout: 15000 });
  await page.waitForNetworkIdle({ idleTime: 500 });
}

async function audit(spec, run) {
  const browser = await puppeteer.launch({
    executablePath: CHROME_PATH,
    headless: true,
    args: CHROME_FLAGS,
    defaultViewport: null,  // Lighthouse sets the mobile viewport itself
  });
  try {
    const page = await browser.newPage();
    await logIn(page, spec.login, spec.secret);
    await page.goto('about:blank');
    const url = base + spec.path;
    const result = await lighthouse(url, {
      output: ['json', 'html'],
      logLevel: 'error',
      onlyCategories: CATEGORIES,
    }, undefined, page);
    if (!result) throw new Error(`Lighthouse returned nothing for ${url}`);
    const { lhr, report } = result;
    await writeFile(join(outDir, `${spec.name}.run${run}.report.json`), report[0]);
    await writeFile(join(outDir, `${spec.name}.run${run}.report.html`), report[1]);
    // Guard: the page must have been the logged-in one, not the login screen.
    const requests = lhr.audits['network-requests']?.details?.items || [];
    const me = requests.find((r) => new URL(r.url).pathname === '/api/me');
    const view = requests.some((r) => /\/views\/login\.js$/.test(new URL(r.url).pathname));
    if (!me || me.statusCode !== 200 || view) {
      throw new Error(`${spec.name}: Lighthouse did not measure a logged-in page (GET /api/me: ${me ? me.statusCode : 'not requested'}${view ? ', login view loaded' : ''})`);
    }
    if (lhr.runtimeError) throw new Error(`${spec.name}: ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
    return { spec, lhr, requests };
  } finally {
    await browser.close();
  }
}

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

function failing(lhr, categoryId) {
  const out = [];
  for (const ref of lhr.categories[categoryId].auditRefs) {
    const a = lhr.audits[ref.id];
    if (ref.weight === 0 && categoryId !== 'performance') continue;
    if (a.scoreDisplayMode === 'notApplicable' || a.scoreDisplayMode === 'manual' || a.scoreDisplayMode === 'informative') continue;
    if (a.score === null || a.score >= 0.9) continue;
    const items = (a.details?.items || []).slice(0, 5).map((item) => item.node?.selector || item.node?.snippet || item.source?.url || item.url || item.description || '').filter(Boolean);
    out.push({ id: a.id, title: a.title, score: a.score, display: a.displayValue || '', items });
  }
  return out;
}

// The service worker's install fetches its precache list. Lighthouse's network
// log is the page's only, so total-byte-weight leaves this out: count what the
// install puts on the wire for the precached URLs the page itself did not load
// (the ones it did load are in the HTTP cache, immutable, and cost nothing).
// Asked as a browser asks (Accept-Encoding: gzip, deflate, br) and counted
// before decoding: status line, headers and the body as sent. sw.js lists
// {participant: [[url, hash], ...], staff: [...]} (or, before issue 27, one
// array of URLs); a participant's install fetches the participant list only.
function wire(url) {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { 'accept-encoding': 'gzip, deflate, br' } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk) => { bytes += chunk.length; });
      res.on('end', () => {
        const head = `HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n`.length +
          res.rawHeaders.reduce((n, v) => n + v.length + 2, 0) + 2;  // 'name: ' and 'value\r\n'
        resolve({ body: bytes, total: bytes + head, encoding: res.headers['content-encoding'] || 'identity' });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function precacheList(script, role) {
  const raw = JSON.parse(script.match(/const PRECACHE = (\[.*?\]|\{.*?\});\n/s)[1]);
  if (Array.isArray(raw)) return raw;  // the old single list of URLs
  const roles = role === 'participant' ? ['participant'] : ['participant', 'staff'];
  return roles.flatMap((r) => raw[r].map(([url]) => url));
}

async function precacheExtra(requests, role) {
  const sw = await wire(`${base}/sw.js`);
  const script = await (await fetch(`${base}/sw.js`)).text();
  const list = precacheList(script, role);
  const loaded = new Set(requests.map((r) => new URL(r.url).pathname));
  let bytes = sw.total;
  let decoded = script.length;
  let files = 1;
  let compressed = 0;
  for (const path of list) {
    if (loaded.has(path)) continue;
    const got = await wire(base + path);
    bytes += got.total;
    decoded += (await (await fetch(base + path)).arrayBuffer()).byteLength;
    if (got.encoding !== 'identity') compressed += 1;
    files += 1;
  }
  return { bytes, decoded, files, compressed, total: list.length };
}

await mkdir(outDir, { recursive: true });
const RUNS = Math.max(1, Number(process.env.LH_RUNS || 3));
const rows = [];
for (let run = 1; run <= RUNS; run += 1) {
  for (const spec of PAGES) {
    console.log(`== run ${run}/${RUNS}, ${spec.label}: logging in as ${spec.login}, auditing ${base}${spec.path}`);
    const row = await audit(spec, run);
    row.run = run;
    rows.push(row);
  }
}
for (const spec of PAGES) {
  const first = rows.find((r) => r.spec === spec);
  first.precache = await precacheExtra(first.requests, spec.role);
}

const first = rows[0].lhr;
console.log(`\nLighthouse ${first.lighthouseVersion}, ${first.environment.hostUserAgent.match(/(Headless)?Chrome\/[\d.]+/)?.[0]}, ` +
  `form factor ${first.configSettings.formFactor}, throttling ${first.configSettings.throttlingMethod}, ${RUNS} run(s) per page\n`);
const score = (lhr, id) => (lhr.categories[id].score === null ? NaN : Math.round(lhr.categories[id].score * 100));
const weight = (lhr) => lhr.audits['total-byte-weight'].numericValue;
const median = (values) => { const v = [...values].sort((a, b) => a - b); return v[Math.floor((v.length - 1) / 2)]; };
const header = ['page', 'run', 'performance', 'accessibility', 'best practices', 'first load (total-byte-weight)', 'requests'];
const table = [];
for (const spec of PAGES) {
  const mine = rows.filter((r) => r.spec === spec);
  const cells = (run, lhrs, requests) => [
    spec.label, run,
    String(median(lhrs.map((l) => score(l, 'performance')))),
    String(median(lhrs.map((l) => score(l, 'accessibility')))),
    String(median(lhrs.map((l) => score(l, 'best-practices')))),
    `${kib(median(lhrs.map(weight)))} (${Math.round(median(lhrs.map(weight)))} B)`,
    String(median(requests)),
  ];
  if (RUNS > 1) mine.forEach((r) => table.push(cells(String(r.run), [r.lhr], [r.requests.length])));
  table.push(cells(RUNS > 1 ? 'median' : '1', mine.map((r) => r.lhr), mine.map((r) => r.requests.length)));
}
const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
table.forEach((r) => console.log(line(r)));
console.log('\ntargets: performance >= 90, accessibility >= 95, best practices >= 95, participant first load < 150 KB');

for (const { spec, lhr, run, precache } of rows) {
  const m = (id) => lhr.audits[id]?.displayValue || 'n/a';
  console.log(`\n${spec.name} run ${run}: FCP ${m('first-contentful-paint')}, LCP ${m('largest-contentful-paint')}, TBT ${m('total-blocking-time')}, CLS ${m('cumulative-layout-shift')}, SI ${m('speed-index')}`);
  if (precache) {
    console.log(`  + service worker install after the load (not in total-byte-weight): sw.js and ${precache.files - 1} of ${precache.total} precached files the page did not load, ${kib(precache.bytes)} on the wire (${precache.compressed} compressed; ${kib(precache.decoded)} decoded)`);
    const page = weight(lhr);
    console.log(`  = first visit, page + precache: ${kib(page + precache.bytes)} (${Math.round(page + precache.bytes)} B) on the wire`);
  }
  for (const categoryId of CATEGORIES) {
    for (const f of failing(lhr, categoryId)) {
      console.log(`  [${categoryId}] ${f.id} (score ${f.score}${f.display ? `, ${f.display}` : ''}): ${f.title}`);
      f.items.forEach((item) => console.log(`      ${item}`));
    }
  }
}
console.log(`\nreports: ${outDir}/<page>.run<N>.report.{json,html}`);
