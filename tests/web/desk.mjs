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
const shot = (page, name, label) =>
  page.screenshot({ path: path.join(shots, `${name}-${label}.png`), fullPage: true });
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
      const expected = response.status() === 401
        || (response.status() === 400 && response.url().endsWith('/assign'))
        || (response.status() === 400 && response.url().includes('q=%28'));
      if (response.status() >= 400 && !expected) {
        problems.push(`${label}: ${response.status()} for ${response.url()}`);
      }
    });
    const snap = (name) => shot(page, name, label);

    // Not logged in: the login form, in Chinese; a wrong password is refused.
    await page.goto(`${desk}/`);
    await page.getByRole('heading', { name: '登录' }).waitFor();
    await page.fill('#login-name', process.env.DUTY_NAME);
    await page.fill('#login-password', 'not the password');
    await page.click('button[type=submit]');
    await page.getByText('用户名或密码错误。').waitFor();
    await snap('login');
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
    await snap('duty');
    if (label === 'desktop') {
      const waiting = page.locator('article.alert').filter({ has: page.locator('.state-raised') }).first();
      acknowledged = await waiting.getAttribute('data-alert');
    }
    const card = page.locator(`article.alert[data-alert="${acknowledged}"]`);
    if (label === 'desktop') {
      assert.equal(await card.locator('.state-raised').textContent(), '待处理');
      await card.getByRole('button', { name: '签收' }).click();
      await card.locator('.state-acknowledged').waitFor();
      // Handed on to the analyst; a name that is no user is refused.
      await card.locator('input.assignee').fill('无此人');
      await card.getByRole('button', { name: '指派' }).click();
      await card.getByText('没有名为“无此人”的可用账号。').waitFor();
      await card.locator('input.assignee').fill(process.env.ANALYST_NAME);
      await card.getByRole('button', { name: '指派' }).click();
      await card.getByText(`承办：${process.env.ANALYST_NAME}`).waitFor();
      await card.locator('summary').click();
      await card.locator('.events').getByText(/签收：/).waitFor();
      await snap('duty-acknowledged');
      // Another alert is a false alarm: refused without a reason, closed with one.
      const other = page.locator('article.alert').filter({ has: page.locator('.state-raised') }).first();
      const otherId = await other.getAttribute('data-alert');
      const wrong = page.locator(`article.alert[data-alert="${otherId}"]`);
      await wrong.getByRole('button', { name: '误报' }).click();
      await wrong.getByText('误报须写明原因。').waitFor();
      await wrong.locator('input.note').fill('与学校无关的社会新闻');
      await wrong.getByRole('button', { name: '误报' }).click();
      await wrong.locator('.state-closed').getByText('误报').waitFor();
      await wrong.getByText('处置说明：与学校无关的社会新闻').waitFor();
    } else {
      // The phone sees what the desktop did: acknowledged, by whom.
      await card.getByText(/签收：/).first().waitFor();
    }

    // 信息列表: a search, then a facet as a filter, kept in the address.
    await page.click('nav a[data-page=search]');
    // A query with a mistake says where, and lists nothing.
    await page.fill('#q', '(溺水');
    await page.click('form button[type=submit]');
    await page.locator('#search-error').getByText(/检索式有误（第 1 个字符处）/).waitFor();
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
    await snap('search');
    if (label === 'desktop') {
      // The narrowed result as a spreadsheet; tests/web_desk.rs opens it.
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
      await download.saveAs(path.join(shots, 'search.xlsx'));
    }
    // A custom range before the sample's stories finds none of them; one around them does.
    await page.click('a[data-preset=custom]');
    await page.fill('#from', '2020-01-01');
    await page.fill('#to', '2020-12-31');
    await page.click('.custom-range button');
    await page.waitForFunction(() => location.hash.includes('to=2020-12-31'));
    await page.locator('#total').getByText('共 0 条').waitFor();
    await page.fill('#from', '2026-11-01');
    await page.fill('#to', '2026-11-30');
    await page.click('.custom-range button');
    await page.waitForFunction(() => location.hash.includes('to=2026-11-30'));
    await page.locator('.hit').first().waitFor();

    // 详情: the document with its tags and text.
    await page.locator('.hit h3 a').first().click();
    await page.locator('#document').waitFor();
    await page.getByText('话题：防溺水').waitFor();
    // The words that made the tags fire are marked in the text.
    const marks = await page.locator('#document .content mark').allTextContents();
    assert.ok(marks.includes('溺水') || marks.includes('落水'), `marked: ${marks}`);
    // The drowning story was reported twice: its timeline lists both, first report first.
    await page.locator('#story').getByText(/事件脉络：2 篇报道/).waitFor();
    assert.equal(await page.locator('#story ol.timeline li').count(), 2);
    await snap('document');

    // 信源: the sample site's sources work, the unreachable one says why.
    await page.click('nav a[data-page=sources]');
    await page.locator('article.source[data-source="示例列表"]').getByText('正常').waitFor();
    await page.locator('article.source[data-source="不可达的信源"]').getByText(/连续失败/).waitFor();
    await snap('sources');

    // Hostile text stays text: no element came from a crawled title or snippet.
    assert.equal(await page.locator('main script, main img, main iframe:not(.snapshot)').count(), 0);
    await context.close();
  }

  // 预警规则: a 值班员 reads them and may not change them; an analyst edits one, is shown
  // a mistake before anything is saved, and saves the fix.
  for (const [who, password, label] of [
    [process.env.DUTY_NAME, process.env.DUTY_PASSWORD, 'phone'],
    [process.env.ANALYST_NAME, process.env.ANALYST_PASSWORD, 'desktop'],
  ]) {
    const viewport = label === 'phone' ? { width: 390, height: 844 } : { width: 1280, height: 900 };
    const context = await browser.newContext({ viewport, locale: 'zh-CN' });
    const page = await context.newPage();
    current = { page, label: `rules-${label}` };
    const refusals = [];
    page.on('response', (response) => {
      if (response.status() >= 400 && response.status() !== 401) refusals.push(response.status());
    });
    await page.goto(`${desk}/#/rules`);
    await page.fill('#login-name', who);
    await page.fill('#login-password', password);
    await page.click('button[type=submit]');
    await page.getByRole('heading', { name: '预警规则' }).waitFor();
    const rule = page.locator('article.rule[data-rule="校园欺凌预警"]');
    await rule.waitFor();
    if (who === process.env.DUTY_NAME) {
      await page.getByText('只读：修改预警规则需要分析员或管理员角色。').waitFor();
      assert.equal(await rule.locator('textarea').count(), 0, 'no editor for a 值班员');
      // Nor does the API let one through by hand.
      const status = await page.evaluate(async () => (await fetch('/api/rules/校园欺凌预警', {
        method: 'PUT', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: '校园欺凌预警', query: '欺凌' }),
      })).status);
      assert.equal(status, 403, 'a 值班员 may not change a rule');
      assert.deepEqual(refusals, [403]);
    } else {
      await rule.locator('textarea').fill('(topic:校园欺凌');
      await rule.getByRole('button', { name: '保存' }).click();
      await rule.getByText(/规则有误/).waitFor();
      await shot(page, 'rules-error', label);
      await rule.locator('textarea').fill('topic:校园欺凌 OR 霸凌');
      await rule.getByRole('button', { name: '保存' }).click();
      await rule.getByText('已保存，立即生效。').waitFor();
      const saved = await page.evaluate(async () => (await (await fetch('/api/rules')).json())
        .find((r) => r.name === '校园欺凌预警').query);
      assert.equal(saved, 'topic:校园欺凌 OR 霸凌');
      assert.deepEqual(refusals, [400], 'only the mistake was refused');
    }
    await shot(page, 'rules', label);
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
