import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { messageKeys } from './i18n'

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? files(p) : /\.(vue|ts)$/.test(p) && !p.endsWith('.test.ts') ? [p] : []
  })
}

describe('UI strings', () => {
  it('exist in both languages', () => {
    const zh = new Set(messageKeys.zh), en = new Set(messageKeys.en)
    expect([...zh].filter((k) => !en.has(k))).toEqual([])
    expect([...en].filter((k) => !zh.has(k))).toEqual([])
  })
  it('cover every literal key the app asks for', () => {
    const zh = new Set(messageKeys.zh)
    const missing: string[] = []
    for (const f of files(join(__dirname, '..'))) {
      for (const m of readFileSync(f, 'utf8').matchAll(/\bt\('([a-zA-Z0-9_.]+)'\s*[,)]/g)) if (!zh.has(m[1])) missing.push(`${f}: ${m[1]}`)
    }
    expect(missing).toEqual([])
  })
})
