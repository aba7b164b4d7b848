// What the end-to-end tests and the benchmark share: the real service
// binary on a free loopback port with a temporary data directory and demo
// records, and Debian's chromium driven by playwright-core (no browser is
// ever downloaded).
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium'
export const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
]

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Starts `bin serve` with n demo records in a fresh directory and waits
 * until all of them are searchable. Returns { url, key, dir, stop }.
 */
export async function startService({ bin, demo = 3000, startTimeoutMs = 600_000 }) {
  const dir = await mkdtemp(join(tmpdir(), 'dongting-e2e-'))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = spawn(bin, ['serve', '-addr', `127.0.0.1:${port}`, '-dir', join(dir, 'var'), '-demo', String(demo)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env,
  })
  let out = ''
  let logs = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (logs = (logs + d).slice(-20_000)))
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  const deadline = Date.now() + startTimeoutMs
  let key = ''
  while (!key) {
    const m = /admin key: (dt_\S+)/.exec(out)
    if (m) key = m[1]
    else if (child.exitCode !== null) throw new Error(`dongting serve exited (${child.exitCode}):\n${out}\n${logs}`)
    else if (Date.now() > deadline) throw new Error('dongting serve did not start in time:\n' + out)
    else await sleep(100)
  }
  // Every demo record searchable before the first page is opened.
  for (;;) {
    const st = await fetch(url + '/api/v1/status', { headers: { Authorization: 'Bearer ' + key } }).then((r) => r.json()).catch(() => null)
    if (st && st.records >= demo && st.index_lag === 0) break
    if (Date.now() > deadline) throw new Error('the index did not catch up in time: ' + JSON.stringify(st))
    await sleep(200)
  }
  async function stop() {
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      await Promise.race([exited, sleep(30_000)])
      if (child.exitCode === null) child.kill('SIGKILL')
    }
    await rm(dir, { recursive: true, force: true })
  }
  return { url, key, dir, stop, logs: () => logs }
}

/** A browser with a fresh profile of its own (--user-data-dir). */
export async function launchBrowser(viewport = { width: 1440, height: 900 }) {
  const profile = await mkdtemp(join(tmpdir(), 'dongting-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    args: chromiumArgs,
    headless: true,
    viewport,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    acceptDownloads: true,
  })
  return {
    context,
    async close() {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    },
  }
}

export async function api(svc, path, { method = 'GET', body, key } = {}) {
  const r = await fetch(svc.url + '/api/v1' + path, {
    method,
    headers: { Authorization: 'Bearer ' + (key ?? svc.key), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await r.text()
  let json = null
  try {
    json = JSON.parse(text)
  } catch {
    // not JSON
  }
  return { status: r.status, json, text }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
