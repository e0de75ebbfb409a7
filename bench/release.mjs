// What a phone fetches when a release changes one view (run by bench/lighthouse.sh).
//
//   node bench/release.mjs BASE_URL PROFILE_DIR install|update
//
// install: the participant logs in on a fresh profile; waits until the service
//          worker has precached the participant app (its index entry is written).
// update:  the same profile opens the app while the next release is served;
//          waits until that release's worker is installed (waiting to take
//          over). lighthouse.sh counts what the server was asked for meanwhile.
import puppeteer from './.node/node_modules/puppeteer-core/lib/esm/puppeteer/puppeteer-core.js';

const [base, profile, phase] = process.argv.slice(2);
if (!base || !profile || !['install', 'update'].includes(phase)) {
  console.error('usage: node bench/release.mjs BASE_URL PROFILE_DIR install|update');
  process.exit(2);
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
  headless: true,
  userDataDir: profile,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const precached = `(async () => {
  for (const name of await caches.keys()) {
    if (await (await caches.open(name)).match('/__precache-index__')) return name;
  }
  return null;
})()`;
try {
  const page = await browser.newPage();
  if (phase === 'install') {
    await page.goto(`${base}/#/login`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('input[name="login"]');
    await page.type('input[name="login"]', 'demo-participant');
    await page.type('input[name="password"]', '246810');
    await page.click('form button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('#nav a').length > 0, { timeout: 15000 });
    await page.waitForFunction(precached, { timeout: 30000, polling: 200 });
    console.log(`   installed: cache ${await page.evaluate(precached)}`);
  } else {
    const before = await page.goto(base, { waitUntil: 'networkidle0' }).then(() => page.evaluate(precached));
    await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r && r.update()));
    await page.waitForFunction(
      () => navigator.serviceWorker.getRegistration().then((r) => !!(r && r.waiting)),
      { timeout: 30000, polling: 200 },
    );
    const names = await page.evaluate(() => caches.keys());
    console.log(`   updated: ${before} -> ${names.filter((n) => n !== before).join(', ')} (waiting to take over)`);
  }
} finally {
  await browser.close();
}
