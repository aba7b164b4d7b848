// Links into the verbatims behind a number: every chart point and table
// cell of the dashboards goes through here. Dates are inclusive, as in
// every view's query string.
import type { RouteLocationRaw } from 'vue-router'

export function verbatims(filters: Record<string, string | undefined>): RouteLocationRaw {
  const query: Record<string, string> = {}
  for (const [k, v] of Object.entries(filters)) if (v) query[k] = v
  return { path: '/verbatims', query }
}

/** The query string's single value of k, or ''. */
export function qs(query: Record<string, unknown>, k: string): string {
  const v = query[k]
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : ''
}

/** The query string's values of k, comma-separated or repeated. */
export function qsList(query: Record<string, unknown>, k: string): string[] {
  const v = query[k]
  const all = typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
  return all.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)
}
