// SPDX-License-Identifier: MIT
// Drives `spmi web`'s dashboard in Debian's chromium through playwright-core (tests/cli/web_browser.sh
// starts the server and the tasks, and passes them here). It never downloads a browser.
//   SPMI_WEB_URL   the URL `spmi web` printed (with ?token=)
//   WEB_TASK       a loaded, inactive task that prints WEB_LINE and a line of markup, then ticks
//   WEB_MARKUP     a loaded task whose comment is markup
//   WEB_LINE       a line WEB_TASK prints at start
//   ARTIFACTS      a directory for the screenshots
//   CHROMIUM       the browser (default /usr/bin/chromium)
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { chromium } = require('playwright-core');

const url = new URL(process.env.SPMI_WEB_URL);
const base = url.origin;
const port = url.port;
const task = process.env.WEB_TASK;
const markupTask = process.env.WEB_MARKUP;
const line = process.env.WEB_LINE;
const artifacts = process.env.ARTIFACTS;
const markup = '<img src=x onerror=alert(1)>';

function ok(what) { console.log(`ok: ${what}`); }

// A raw request, so that Host and Origin are exactly what we say (a browser never forges Host).
function raw(method, target, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port, method, path: target, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// A state word alone (hasText alone would find 'active' in 'inactive').
const word = (w) => new RegExp(`^${w}$`);
const rowState = (page, id) => page.locator(`#task-rows tr[data-id="${id}"] .state`);

async function expectText(locator, text, what, timeout = 15000) {
  try {
    await locator.filter({ hasText: text }).first().waitFor({ timeout });
  } catch (err) {
    const now = await locator.first().textContent().catch(() => '(none)');
    throw new Error(`${what}: expected ${JSON.stringify(text)} within ${timeout} ms, got ${JSON.stringify(now)}`);
  }
}

async function login(context, problems) {
  const page = await context.newPage();
  page.on('console', (m) => {
    // The refused stop below answers an error status on purpose, which chromium logs as an error (the
    // legitimate stops are checked by their result, exit 0).
    const refusedStop = /Failed to load resource/.test(m.text()) && /\/api\/manageables\/[^/]+\/stop$/.test(m.location().url);
    if (m.type() === 'error' && !refusedStop) problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => { problems.push(`a JavaScript dialog opened: ${d.message()}`); d.dismiss(); });
  const response = await page.goto(url.href);
  assert.equal(response.status(), 200, 'the page loads after the token login');
  assert.equal(page.url(), base + '/', 'the token is gone from the address bar (303 to /)');
  await page.waitForSelector('body[data-live="1"]', { timeout: 10000 });
  return page;
}

async function checkList(page) {
  await expectText(rowState(page, task), word('inactive'), `${task}'s state in the list`);
  await expectText(rowState(page, markupTask), word('inactive'), `${markupTask}'s state in the list`);
  const comment = page.locator(`#task-rows tr[data-id="${markupTask}"] .col-comment`);
  assert.equal(await comment.textContent(), markup, 'a comment with markup shows as text');
  assert.equal(await page.locator('#tasks img').count(), 0, 'the comment made no <img>');
  ok('the list shows the loaded tasks; a comment with markup is text');
}

async function confirm(page, action, accept) {
  await page.click(`button[data-action="${action}"]`);
  const dialog = page.locator('dialog#confirm[open]');
  await dialog.waitFor({ timeout: 5000 });
  await page.click(accept ? '#confirm-ok' : '#confirm-cancel');
  await dialog.waitFor({ state: 'detached', timeout: 5000 });
}

async function startAndStop(page) {
  await page.click(`#task-rows tr[data-id="${task}"] a`);
  await page.locator('#detail:not([hidden])').waitFor({ timeout: 5000 });
  assert.equal(await page.locator('#detail-id').textContent(), task);
  await page.click('button[data-action="start"]');
  await expectText(page.locator('#result'), `start ${task}: exit 0`, 'the start result');
  await expectText(rowState(page, task), word('active'), `${task} turns active in the list (no reload)`);
  await expectText(page.locator('#detail-state'), word('active'), `${task} turns active in the status view`);
  assert.match(await rowState(page, task).getAttribute('class'), /state-active/, 'active is coloured');
  await expectText(page.locator('#log'), line, `${task}'s output arrives`);
  await expectText(page.locator('#log'), 'tick', `${task}'s output keeps arriving`);
  await expectText(page.locator('#log'), markup, 'a line of output with markup shows as text');
  assert.equal(await page.locator('#log img').count(), 0, 'the output made no <img>');
  await expectText(page.locator('#fields dd'), /^\d+$/, 'the status view shows the PID');
  ok('start: the state turns active and the output arrives');
  await expectText(page.locator('#log'), /(tick\n){4}/, 'a few more lines for the screenshot');
  await page.screenshot({ path: path.join(artifacts, 'web-dashboard.png') });

  await confirm(page, 'kill', false);
  await page.waitForTimeout(1500);
  await expectText(rowState(page, task), word('active'), 'a cancelled kill leaves it active', 1000);
  ok('kill asks first; cancelling it does nothing');

  await confirm(page, 'stop', true);
  await expectText(page.locator('#result'), `stop ${task}: exit 0`, 'the stop result');
  await expectText(rowState(page, task), word('inactive'), `${task} turns inactive after stop`);
  await expectText(page.locator('#detail-state'), word('inactive'), 'the status view turns inactive');
  ok('stop (confirmed): the state turns inactive');

  await page.click('button[data-action="stop"]');
  await page.click('#confirm-ok');
  await expectText(page.locator('#result.failed'), `stop ${task}: exit`, 'stopping an inactive task is refused and shown');
  ok(`a refused action shows its exit and message: ${await page.locator('#result').textContent()}`);
}

async function checkRefusals(context) {
  const list = '/api/list';
  let r = await raw('GET', list, { Host: url.host });
  assert.equal(r.status, 401, 'no token: 401');
  r = await raw('GET', list, { Host: url.host, Authorization: 'Bearer ' + '0'.repeat(64) });
  assert.equal(r.status, 401, 'a wrong token: 401');
  const token = url.searchParams.get('token');
  r = await raw('GET', list, { Host: url.host, Authorization: 'Bearer ' + token });
  assert.equal(r.status, 200, 'the token as Bearer: 200');
  r = await raw('GET', list, { Host: `evil.example:${port}`, Authorization: 'Bearer ' + token });
  assert.equal(r.status, 403, 'a forged Host (DNS rebinding): 403');
  const action = `/api/manageables/${task}/start`;
  const json = { 'Content-Type': 'application/json' };
  r = await raw('POST', action, { ...json, Host: url.host, Authorization: 'Bearer ' + token, Origin: 'http://evil.example' }, '{}');
  assert.equal(r.status, 403, 'a foreign Origin: 403');
  // The browser's own session cookie, sent from a foreign page's Origin or without the CSRF header.
  const cookies = (await context.cookies(base)).map((c) => `${c.name}=${c.value}`).join('; ');
  assert.ok(cookies.startsWith(`spmi_${port}=`), `the session cookie is spmi_${port}`);
  r = await raw('POST', action, { ...json, Host: url.host, Cookie: cookies, Origin: `http://127.0.0.1:${Number(port) + 1}` }, '{}');
  assert.equal(r.status, 403, 'the cookie with the Origin of another local port: 403');
  r = await raw('POST', action, { ...json, Host: url.host, Cookie: cookies, Origin: base }, '{}');
  assert.ok(r.status === 401 || r.status === 403, `the cookie without the CSRF header: refused (${r.status})`);
  r = await raw('GET', action, { Host: url.host, Authorization: 'Bearer ' + token });
  assert.equal(r.status, 405, 'GET on an action: 405');
  ok('no token, a wrong token, a forged Host, a foreign Origin, a missing CSRF header are refused');
}

// A page on another local port tries to stop the task with the user's cookie (CSRF): nothing happens.
async function checkForeignPage(context, page) {
  await page.click('button[data-action="start"]');
  await expectText(rowState(page, task), word('active'), `${task} active again`);
  const target = `${base}/api/manageables/${task}/stop`;
  const evil = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html');
    res.end('<!DOCTYPE html><script>' +
      `fetch(${JSON.stringify(target)}, {method: "POST", mode: "no-cors", credentials: "include", body: "{}"});` +
      `fetch(${JSON.stringify(target)}, {method: "POST", credentials: "include", headers: {"Content-Type": "application/json"}, body: "{}"}).catch(() => {});` +
      'document.title = "sent";</script>');
  });
  await new Promise((resolve) => evil.listen(0, '127.0.0.1', resolve));
  const attacker = await context.newPage();
  await attacker.goto(`http://127.0.0.1:${evil.address().port}/`);
  await attacker.waitForFunction(() => document.title === 'sent');
  await attacker.waitForTimeout(1500);
  await attacker.close();
  evil.close();
  await expectText(rowState(page, task), word('active'), 'a foreign page could not stop the task', 1000);
  ok("a page on another local port cannot stop a task with the user's cookie");
  const pid = await page.locator('#fields dt:text-is("PID") + dd').textContent();
  await page.click('button[data-action="restart"]');
  await expectText(page.locator('#result'), `restart ${task}: exit 0`, 'the restart result', 30000);
  await expectText(rowState(page, task), word('active'), `${task} active after restart`);
  await page.locator(`#fields dt:text-is("PID") + dd:not(:text-is("${pid}"))`).waitFor({ timeout: 10000 });
  ok(`restart: active again with a new PID (was ${pid})`);
  await confirm(page, 'kill', true);
  await expectText(rowState(page, task), word('inactive'), `${task} inactive after kill`);
  ok('kill (confirmed): the state turns inactive');
}

async function checkPhone(context, problems) {
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error (phone): ${e.message}`));
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto(base + '/#task=' + encodeURIComponent(task));
  await page.waitForSelector('body[data-live="1"]', { timeout: 10000 });
  await expectText(rowState(page, task), word('inactive'), 'the list at 360 px');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `no horizontal scrolling at 360 px (page is ${width} px wide)`);
  for (const selector of [`#task-rows tr[data-id="${task}"] a`, `#task-rows tr[data-id="${task}"] .state`,
    'button[data-action="start"]', 'button[data-action="kill"]']) {
    const box = await page.locator(selector).boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 360, `${selector} is within 360 px (${JSON.stringify(box)})`);
  }
  await page.screenshot({ path: path.join(artifacts, 'web-phone.png'), fullPage: true });
  await page.close();
  ok('at 360 px the list and the buttons fit the screen');
}

async function main() {
  fs.mkdirSync(artifacts, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const problems = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await login(context, problems);
    ok('the token URL logs in and leaves the address bar without the token; the event stream is live');
    await checkList(page);
    await startAndStop(page);
    await checkRefusals(context);
    await checkForeignPage(context, page);
    await checkPhone(context, problems);
    assert.deepEqual(problems, [], 'no console error, page error or JavaScript dialog (CSP violations show there)');
    ok('no console error, page error or JavaScript dialog');
  } finally {
    await browser.close();
  }
}

main().catch((err) => {
  console.error(`FAIL: ${err.message}`);
  process.exit(1);
});
