// Periods in the query string: period=7d|30d|90d|180d|365d|all, or from/to
// (dates, both inclusive, as a person reads them). Searches take to as
// exclusive, so they get the day after.

export const presets = ['7d', '30d', '90d', '180d', '365d', 'all'] as const

export interface Range {
  from: string // YYYY-MM-DD, inclusive; '' for no bound
  to: string // inclusive
}

export function ymd(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`
}

export function parseYMD(s: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s)
  if (!m) return null
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
  return Number.isNaN(d.getTime()) || ymd(d) !== s ? null : d
}

export function addDays(s: string, n: number): string {
  const d = parseYMD(s)
  if (!d) return s
  d.setDate(d.getDate() + n)
  return ymd(d)
}

export function daysBetween(from: string, to: string): number {
  const a = parseYMD(from), b = parseYMD(to)
  if (!a || !b) return 0
  return Math.round((b.getTime() - a.getTime()) / 86_400_000) + 1
}

/** The range a period names, ending today (inclusive). */
export function rangeOf(period: string | undefined, from: string | undefined, to: string | undefined, today = new Date()): Range {
  if (from || to) {
    return { from: from && parseYMD(from) ? from : '', to: to && parseYMD(to) ? to : '' }
  }
  const days = { '7d': 7, '30d': 30, '90d': 90, '180d': 182, '365d': 365 }[period ?? ''] ?? 0
  if (!days) return { from: '', to: '' }
  const end = ymd(today)
  return { from: addDays(end, -(days - 1)), to: end }
}

/** The period of the same length just before r. */
export function previous(r: Range): Range | null {
  if (!r.from || !r.to) return null
  const n = daysBetween(r.from, r.to)
  return { from: addDays(r.from, -n), to: addDays(r.from, -1) }
}

/** Search parameters for a range: to is exclusive there. */
export function searchRange(r: Range): { from?: string; to?: string } {
  return { from: r.from || undefined, to: r.to ? addDays(r.to, 1) : undefined }
}

/** The dates of an ISO week label (2026-W09) or a month (2026-03). */
export function periodDates(period: string): Range | null {
  let m = /^(\d{4})-W(\d{2})$/.exec(period)
  if (m) {
    const y = Number(m[1]), w = Number(m[2])
    const jan4 = new Date(y, 0, 4)
    const monday = new Date(jan4)
    monday.setDate(jan4.getDate() - ((jan4.getDay() + 6) % 7) + (w - 1) * 7)
    const start = ymd(monday)
    return { from: start, to: addDays(start, 6) }
  }
  m = /^(\d{4})-(\d{2})$/.exec(period)
  if (m) {
    const start = new Date(Number(m[1]), Number(m[2]) - 1, 1)
    const end = new Date(Number(m[1]), Number(m[2]), 0)
    return { from: ymd(start), to: ymd(end) }
  }
  if (parseYMD(period)) return { from: period, to: period }
  return null
}
