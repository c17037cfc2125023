// The desk's web page in real headless Chromium, as its users work with it: a 值班员
// logs in, sees the alert queue, 签收s an alert and finds it in the case log, searches
// with a facet and opens a document; a wrong password is refused; a crawled title that
// carries markup stays text. Each page is screenshotted at desktop and phone width.
//
// Run by tests/web_desk.rs with DESK (the desk's address), DUTY_NAME, DUTY_PASSWORD,
// SHOTS (a folder for the screenshots) and PLAYWRIGHT (the playwright-core module).
// Exits non-zero with the failed check on stderr.

import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT);
const desk = process.env.DESK;
const shots = process.env.SHOTS;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const problems = [];
let current = null;
let acknowledged = null;
try {
  for (const [width, height, label] of [[1280, 900, 'desktop'], [390, 844, 'phone']]) {
    const context = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN' });
    const page = await context.newPage();
    current = { page, label };
    page.on('pageerror', (error) => problems.push(`${label}: page error: ${error.message}`));
    page.on('response', (response) => {
      // 401 answers the wrong password and the first look before login; nothing else fails.
      if (response.status() >= 400 && response.status() !== 401) {
        problems.push(`${label}: ${response.status()} for ${response.url()}`);
      }
    });
    const shot = (name) => page.screenshot({ path: path.join(shots, `${name}-${label}.png`), fullPage: true });

    // Not logged in: the login form, in Chinese; a wrong password is refused.
    await page.goto(`${desk}/`);
    await page.getByRole('heading', { name: '登录' }).waitFor();
    await page.fill('#login-name', process.env.DUTY_NAME);
    await page.fill('#login-password', 'not the password');
    await page.click('button[type=submit]');
    await page.getByText('用户名或密码错误。').waitFor();
    await shot('login');
    await page.fill('#login-password', process.env.DUTY_PASSWORD);
    await page.click('button[type=submit]');

    // 值班台: the queue with the drowning alert, waiting for 签收.
    await page.getByRole('heading', { name: '值班台' }).waitFor();
    await page.locator('#who').getByText('值班员').waitFor();
    const drowning = page.locator('article.alert').filter({ hasText: '溺水' }).first();
    await drowning.waitFor({ timeout: 30000 });
    // Its risk, district and source are shown with it.
    await drowning.locator('.tag').filter({ hasText: '风险' }).waitFor();
    await drowning.getByText('孟州').first().waitFor();
    await shot('duty');
    if (label === 'desktop') {
      const waiting = page.locator('article.alert').filter({ has: page.locator('.state-raised') }).first();
      acknowledged = await waiting.getAttribute('data-alert');
    }
    const card = page.locator(`article.alert[data-alert="${acknowledged}"]`);
    if (label === 'desktop') {
      assert.equal(await card.locator('.state-raised').textContent(), '待处理');
      await card.getByRole('button', { name: '签收' }).click();
      await card.locator('.state-acknowledged').waitFor();
      await card.locator('summary').click();
      await card.locator('.events').getByText(/签收：/).waitFor();
      await shot('duty-acknowledged');
    } else {
      // The phone sees what the desktop did: acknowledged, by whom.
      await card.getByText(/签收：/).first().waitFor();
    }

    // 信息列表: a search, then a facet as a filter, kept in the address.
    await page.click('nav a[data-page=search]');
    await page.fill('#q', '学生');
    await page.click('form button[type=submit]');
    await page.waitForFunction(() => location.hash.includes('q=%E5%AD%A6%E7%94%9F'));
    await page.locator('#total').waitFor();
    const before = Number((await page.locator('#total').textContent()).match(/\d+/)[0]);
    assert.ok(before > 1, `results for 学生: ${before}`);
    const facet = page.locator('a[data-facet=topic]').filter({ hasText: '防溺水' }).first();
    await facet.click();
    await page.waitForFunction(() => location.hash.includes('topic='));
    await page.locator('a[data-facet=topic].on').waitFor();
    const after = Number((await page.locator('#total').textContent()).match(/\d+/)[0]);
    assert.ok(after >= 1 && after < before, `the facet narrows ${before} to ${after}`);
    assert.ok(await page.locator('.hit mark').count() > 0, 'matches are highlighted');
    await shot('search');

    // 详情: the document with its tags and text.
    await page.locator('.hit h3 a').first().click();
    await page.locator('#document').waitFor();
    await page.getByText('话题：防溺水').waitFor();
    await shot('document');

    // Hostile text stays text: no element came from a crawled title or snippet.
    assert.equal(await page.locator('main script, main img, main iframe:not(.snapshot)').count(), 0);
    await context.close();
  }
} catch (error) {
  problems.push(error.stack || String(error));
  if (current) {
    await current.page.screenshot({ path: path.join(shots, `failure-${current.label}.png`), fullPage: true }).catch(() => {});
    problems.push(`at ${current.page.url()}; screenshot failure-${current.label}.png`);
  }
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('desk page checks passed; screenshots in', shots);
