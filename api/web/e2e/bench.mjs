// The web app's benchmark (make bench-web, part of make bench): the real
// service with BENCH_N demo records, and for each view the time from
// navigation to interactive — its content drawn and every one of its
// first requests answered — once with an empty cache and as the median of
// RUNS loads with a warm one; then the JavaScript of the first view
// (/overview) and of the shell alone, gzipped as the server sends it.
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'
import { launchBrowser, startService } from './harness.mjs'

const bin = resolve(process.env.DONGTING_BIN ?? '../../bin/dongting')
const n = Number(process.env.BENCH_N ?? 20000)
const runs = Number(process.env.RUNS ?? 5)
const dist = resolve('dist/app')

// What "interactive" means per view: every group of selectors has a match
// on the page (a group lists alternatives), and nothing is loading.
const views = {
  overview: ['[data-testid=kpi-volume] .kpi-value', '[data-testid=trend] .echart svg', '[data-testid=nps] .echart svg', '[data-testid=orgs] .echart svg'],
  touchpoints: ['[data-testid=tree] tbody tr', '[data-testid=treemap] .echart svg'],
  verbatims: ['[data-testid=hits] li', '[data-testid=histogram] .echart svg'],
  alerts: ['[data-testid=alerts] li, .card.muted'],
  taxonomy: ['[data-testid=tax-tree] .node'],
  review: ['[data-testid=review-unavailable], [data-testid=review-item], .card.muted'],
  admin: ['[data-testid=admin-status] .big'],
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

const t0 = Date.now()
console.log(`bench-web: starting the service with ${n} demo records…`)
const svc = await startService({ bin, demo: n, startTimeoutMs: 3 * 3600_000 })
console.log(`bench-web: ${n} records loaded and searchable in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
const browser = await launchBrowser({ width: 1440, height: 900 })
try {
  const page = await browser.context.newPage()
  await page.goto(svc.url + '/signin')
  await page.fill('input[name=key]', svc.key)
  await page.click('form button.primary')
  await page.waitForURL((u) => u.pathname === '/overview')

  const cdp = await browser.context.newCDPSession(page)
  // Timed inside the page (every animation frame), so the figure holds no
  // round trips of the test driver.
  async function load(view, cold) {
    if (cold) await cdp.send('Network.clearBrowserCache')
    await page.goto('about:blank')
    await page.goto(`${svc.url}/${view}`, { waitUntil: 'commit' })
    return page.evaluate((groups) => new Promise((resolve, reject) => {
      const give = setTimeout(() => reject(new Error('not interactive in 120 s')), 120_000)
      const check = () => {
        const drawn = groups.every((g) => document.querySelector(g))
        if (drawn && !document.querySelector('.loading, .skeleton, [aria-busy="true"]')) {
          clearTimeout(give)
          resolve(performance.now())
        } else requestAnimationFrame(check)
      }
      check()
    }), views[view])
  }

  const rows = []
  for (const view of Object.keys(views)) {
    const cold = await load(view, true)
    const warm = []
    for (let i = 0; i < runs; i++) warm.push(await load(view, false))
    rows.push({ view, cold, warm: median(warm), max: Math.max(...warm) })
  }

  // The first view's JavaScript, as loaded with an empty cache.
  const scripts = new Set()
  const onResponse = (r) => { if (r.url().endsWith('.js')) scripts.add(new URL(r.url()).pathname) }
  page.on('response', onResponse)
  await load('overview', true)
  page.off('response', onResponse)
  const gz = async (path) => gzipSync(await readFile(join(dist, path)), { level: 9 }).length
  let firstView = 0, echarts = 0
  for (const s of scripts) {
    const size = await gz(s)
    firstView += size
    if (s.includes('charts')) echarts += size
  }
  const html = await readFile(join(dist, 'index.html'), 'utf8')
  let shell = 0
  for (const m of html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)) shell += await gz(m[1])

  console.log(`\nbench-web at ${n} records (${runs} warm loads per view; ms from navigation to interactive)`)
  console.log('view          cold cache   warm median   warm max')
  for (const r of rows) console.log(`${r.view.padEnd(13)} ${r.cold.toFixed(0).padStart(7)} ms ${r.warm.toFixed(0).padStart(10)} ms ${r.max.toFixed(0).padStart(8)} ms`)
  console.log(`\nfirst view (/overview) JS: ${(firstView / 1024).toFixed(1)} KB gzipped in ${scripts.size} files (ECharts ${(echarts / 1024).toFixed(1)} KB of it, loaded only by views with charts)`)
  console.log(`shell JS (every page, before any view): ${(shell / 1024).toFixed(1)} KB gzipped`)
  const slow = rows.filter((r) => r.warm > 1000)
  if (slow.length) console.log(`over the 1 s target (warm median): ${slow.map((r) => r.view).join(', ')}`)
} finally {
  await browser.close()
  await svc.stop()
}
